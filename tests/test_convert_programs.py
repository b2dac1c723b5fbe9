"""Whole programs that run: what a converted notebook or script needs beyond its model.

One section per defect of the converter's second step (issue 13), each with the failing
pattern it was found on.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from dlcourse.convert import ConvertError, convert_notebook_node, convert_source
from dlcourse.convert.write.names_check import undefined_names

MLP = """\
import numpy as np
import keras
from keras import layers

x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
model = keras.Sequential([
    keras.Input(shape=(4,)),
    layers.Dense(8, activation="relu"),
    layers.Dense(2, activation="softmax"),
])
"""


def run(text: str) -> dict:
    namespace: dict = {}
    exec(text, namespace)
    return namespace


# -- 1. a definition commented out while its uses stay live ---------------------------------------
def test_undefined_names_sees_what_a_program_reads_but_never_binds():
    assert undefined_names(["import os\nprint(os.sep, missing)\n"]) == {"missing": (0, 2)}
    code = "def f(a, *b, k=1, **c):\n    return a, b, k, c, [i for i in b]\nclass C: pass\n"
    assert undefined_names([code, "try:\n    f(C)\nexcept Exception as e:\n    print(e)\n"]) == {}
    assert undefined_names(["%matplotlib inline\n!pip install x \\\n   y\nz = 1\n", "z\n"]) == {}


def test_a_custom_callback_class_and_its_use_are_converted():
    source = MLP + (
        "class PrintDot(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs):\n"
        "        print('.', end='')\n"
        "        if logs['loss'] < 0:\n"
        "            self.model.stop_training = True\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
        "history = model.fit(x, y, epochs=3, verbose=0, callbacks=[PrintDot()])\n"
    )
    conversion = convert_source(source, "dots.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "class PrintDot(Callback):" in conversion.text
    assert len(run(conversion.text)["history"].epoch) == 3


def test_uses_of_a_removed_definition_follow_it_and_the_report_names_the_root():
    source = MLP + (
        "class Scale(keras.layers.Layer):\n"
        "    pass\n"
        "scale = Scale()\n"
        "print(scale)\n"
        "board = keras.callbacks.TensorBoard(log_dir='logs')\n"
        "stop = keras.callbacks.EarlyStopping(monitor='loss', patience=1)\n"
        "model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy')\n"
        "history = model.fit(x, y, epochs=2, verbose=0, callbacks=[board, stop,\n"
        "    keras.callbacks.CSVLogger('log.csv')])\n"
        "for layer in [scale]:\n"
        "    print(layer)\n"
    )
    conversion = convert_source(source, "cascade.py")
    report = conversion.report
    roots = {issue.loc.line: places for issue, places in report.roots}
    assert sorted(roots) == [12, 16, 20]  # the class, TensorBoard, CSVLogger
    assert [p.line for p in roots[12]] == [14, 15, 21]
    text = report.to_text()
    assert "Conversion report: 3 not converted" in text
    assert "also commented out for this reason: line 14, line 15, line 21" in text
    assert "callbacks=[stop]" in conversion.text
    assert len(run(conversion.text)["history"]["loss"]) == 2


def test_a_learning_rate_schedule_follows_keras(tmp_path):
    keras = pytest.importorskip("keras")
    source = MLP + (
        "schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, "
        "decay_rate=0.5, staircase=True)\n"
        "model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), "
        "loss='sparse_categorical_crossentropy')\n"
        "history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)\n"
    )
    conversion = convert_source(source, "schedule.py")
    assert not conversion.report.left, conversion.report.to_text()
    namespace = run(conversion.text)
    lr = namespace["optimizer"].param_groups[0]["lr"]
    ran = run(source)
    expected = float(keras.ops.convert_to_numpy(ran["model"].optimizer.learning_rate))
    assert lr == pytest.approx(expected) == pytest.approx(0.1 * 0.5**5)  # 10 steps, staircase


def test_an_unsupported_schedule_leaves_compile_and_fit_for_the_user():
    source = MLP + (
        "lr = keras.optimizers.schedules.PolynomialDecay(0.1, 100)\n"
        "model.compile(optimizer=keras.optimizers.Adam(lr),\n"
        "              loss='sparse_categorical_crossentropy')\n"
        "model.fit(x, y, epochs=1)\n"
        "print(model.predict(x[:2]).shape)\n"
    )
    conversion = convert_source(source, "poly.py")
    lines = {issue.loc.line for issue in conversion.report.left}
    assert {13, 15} <= lines and 16 not in lines
    run(conversion.text)  # predict still works on the untrained model


def test_a_converter_bug_that_leaves_a_name_dangling_fails_loudly(monkeypatch):
    from dlcourse.convert import api

    monkeypatch.setattr(
        api, "undefined_names", lambda units: {} if units == ["x"] else {"y": (0, 1)}
    )
    with pytest.raises(ConvertError, match=r"internal error.*would use names .*: y"):
        api._check_names(["x"], ["y"], ["f.py (converted)"])


# -- 2. keras.datasets ---------------------------------------------------------------------------
def test_dataset_aliases_and_imports_become_the_course_copies():
    source = (
        "import keras\nfrom keras.datasets import imdb\n"
        "fashion_mnist = keras.datasets.fashion_mnist\n"
        "(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()\n"
        "(a, b), _ = imdb.load_data(num_words=10000)\nindex = imdb.get_word_index()\n"
        "(c, d), _ = keras.datasets.cifar10.load_data()\n"
    )
    conversion = convert_source(source, "data.py")
    text = conversion.text
    assert not conversion.report.left, conversion.report.to_text()
    assert "from dlcourse.convert import keras_datasets" in text
    assert "fashion_mnist = keras_datasets.fashion_mnist" in text
    assert "keras_datasets.imdb.load_data(num_words=10000)" in text
    assert "index = keras_datasets.imdb.get_word_index()" in text
    assert "word indices differ from Keras's" in conversion.report.to_text()


def write_idx(path, array: np.ndarray, magic: int) -> None:
    import struct

    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_reads_idx_files_in_keras_layout(tmp_path, monkeypatch):
    from dlcourse.convert.keras_datasets import mnist

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 5), ("t10k", 3)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 2051)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n), 2049)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8 and y_test.shape == (3,)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(Exception, match="MNIST is not in the data directory"):
        mnist.load_data()


@pytest.mark.realdata
def test_datasets_have_keras_layouts_and_dtypes():
    from dlcourse.convert import keras_datasets

    (x, y), (xt, yt) = keras_datasets.cifar10.load_data()
    assert x.shape == (50000, 32, 32, 3) and y.shape == (50000, 1) and y.dtype == np.uint8
    (x, y), _ = keras_datasets.fashion_mnist.load_data()
    assert x.shape == (60000, 28, 28) and x.dtype == y.dtype == np.uint8
    (x, y), _ = keras_datasets.boston_housing.load_data()
    assert x.shape == (404, 13) and x.dtype == np.float64
    (x, y), (xt, yt) = keras_datasets.imdb.load_data(num_words=1000)
    assert x.dtype == object and len(x) == len(xt) == 25000 and set(np.unique(y)) == {0, 1}
    assert all(s[0] == 1 and max(s) < 1000 for s in x[:100])
    index = keras_datasets.imdb.get_word_index()
    assert index["the"] == 1 and min(index.values()) == 1


# -- 4. History ------------------------------------------------------------------------------------
def test_fit_returns_a_keras_like_history():
    source = MLP + (
        "import pandas as pd\n"
        "def plot(history):\n"
        "    return history.epoch, history.history['val_loss']\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
        "metrics=['accuracy'])\n"
        "history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)\n"
        "epochs, losses = plot(history)\n"
        "frame = pd.DataFrame(history.history)\n"
    )
    namespace = run(convert_source(source).text)
    assert namespace["epochs"] == [0, 1] and len(namespace["losses"]) == 2
    assert list(namespace["frame"].columns) == ["loss", "accuracy", "val_loss", "val_accuracy"]


# -- 5. metrics ----------------------------------------------------------------------------------
def test_one_unsupported_metric_is_left_out_and_the_rest_converted():
    keras = pytest.importorskip("keras")
    source = MLP.replace('Dense(2, activation="softmax")', 'Dense(1, activation="sigmoid")')
    source += (
        "model.compile(optimizer='sgd', loss='binary_crossentropy', metrics=['accuracy', "
        "keras.metrics.AUC(), keras.metrics.Precision(), keras.metrics.Recall(), "
        "keras.metrics.BinaryCrossentropy(), keras.metrics.F1Score(), 'mae'])\n"
        "history = model.fit(x, y, epochs=1, verbose=0)\n"
    )
    conversion = convert_source(source, "metrics.py")
    (issue,) = conversion.report.left
    assert issue.loc.line == 12 and "F1Score" in issue.message
    history = run(conversion.text)["history"]
    assert set(history) == {"loss", "accuracy", "auc", "precision", "recall",
                            "binary_crossentropy", "mae"}  # fmt: skip
    assert history["loss"][0] == pytest.approx(history["binary_crossentropy"][0], rel=1e-4)
    assert 0 <= history["auc"][0] <= 1 and keras


def test_epoch_metrics_match_their_definitions():
    import torch
    from torch import nn

    from dlcourse.convert.write.templates import helpers_code, helpers_imports, import_block

    names = {"fit"}
    code = "\n".join(import_block(helpers_imports(names), False)) + "\n" + helpers_code(names)
    ns = run(code)
    loss_fn = nn.BCELoss()
    scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.8, 0.9])
    target = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    assert ns["auc"](loss_fn, scores, target).item() == pytest.approx((1 + 3 + 2.5) / 9)
    assert ns["precision"](loss_fn, scores, target).item() == pytest.approx(2 / 3)
    assert ns["recall"](loss_fn, scores, target).item() == pytest.approx(2 / 3)


# -- 6. the helpers' cell ------------------------------------------------------------------------
def test_helpers_cell_works_when_the_model_is_built_in_the_first_cell():
    nb = new_notebook()
    nb.cells = [
        new_code_cell(MLP + "model.summary()\n"),
        new_code_cell("model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
                      "history = model.fit(x, y, epochs=1, verbose=0)"),
    ]  # fmt: skip
    out = nbformat.reads(convert_notebook_node(nb, "first.ipynb").text, as_version=4)
    code = [c.source for c in out.cells if c.cell_type == "code"]
    assert "def summary(" in code[0] and code[0].startswith(
        "import inspect\nimport numpy as np\nimport torch"
    )
    namespace: dict = {}
    for cell in code:
        exec(cell, namespace)
    assert len(namespace["history"]["loss"]) == 1


# -- 3. sizes known only at run time --------------------------------------------------------------
RUNTIME_SHAPES = {
    "input_shape_of_data": (
        "model = keras.Sequential([keras.Input(shape=x.shape[1:]), layers.Conv2D(4, 3), "
        "layers.MaxPooling2D(), layers.Conv2D(5, 3, strides=2, padding='valid'), "
        "layers.Flatten(), layers.Dense(3)])\n",
        (11, 13, 2),
    ),
    "flatten_of_unknown_rank": (
        "model = keras.Sequential([keras.Input(shape=x.shape[1:]), layers.Flatten(), "
        "layers.Dense(3)])\n",
        (5, 4, 2),
    ),
    "dense_input_shape": (
        "model = keras.Sequential([layers.Dense(3, input_shape=(x.shape[1],))])\n",
        (7,),
    ),
    "symbolic_sizes_keep_precedence": (
        "h = x.shape[1]\nw = x.shape[2]\n"
        "model = keras.Sequential([keras.Input(shape=(h, w, 2)), layers.Conv2D(8, 3), "
        "layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3)])\n",
        (12, 9, 2),
    ),
    "functional_input_of_data": (
        "inputs = keras.Input(shape=x.shape[1:])\nh = layers.LSTM(4)(inputs)\n"
        "model = keras.Model(inputs, layers.Dense(2)(h))\n",
        (6, 3),
    ),
}


@pytest.mark.parametrize("case", sorted(RUNTIME_SHAPES))
def test_sizes_known_at_run_time_give_keras_outputs(case, tmp_path):
    keras = pytest.importorskip("keras")
    import torch
    from test_convert_parity import randomize

    from dlcourse.convert import convert_weights, pick_model

    body, shape = RUNTIME_SHAPES[case]
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype("float32")
    source = "import keras\nfrom keras import layers\n" + body
    ran = {"x": x}
    exec(source, ran)
    randomize(ran["model"], np.random.default_rng(0))
    ran["model"].save(tmp_path / "m.keras")
    expected = keras.ops.convert_to_numpy(ran["model"](x))
    conversion = convert_source(source, "shapes.py")
    assert not conversion.report.left, conversion.report.to_text()
    converted = {"x": x}
    exec(conversion.text, converted)
    model = converted["model"]
    model.load_state_dict(convert_weights(pick_model(conversion, None), tmp_path / "m.keras"))
    with torch.no_grad():
        got = model.eval()(torch.from_numpy(x)).numpy()
    assert np.abs(got - expected).max() <= 1e-5


def test_generated_size_arithmetic_is_parenthesised():
    from dlcourse.convert.ir import Sym
    from dlcourse.convert.layers.builder import arith, product

    h = Sym("h")
    pooled = arith(arith(arith(h, "-", 2), "//", 2), "+", 1)
    assert pooled == "(h - 2) // 2 + 1"
    assert product((pooled, pooled, 256)) == "256 * ((h - 2) // 2 + 1) * ((h - 2) // 2 + 1)"
    assert eval(product((pooled, pooled, 256)), {"h": 10}) == 256 * 5 * 5


# -- 7. per-pixel losses -------------------------------------------------------------------------
def test_per_pixel_sparse_cross_entropy_matches_keras_and_trains(tmp_path):
    pytest.importorskip("keras")
    from test_convert_training import run_both

    source = (
        "import keras\nfrom keras import layers\n"
        "model = keras.Sequential([keras.Input(shape=(8, 8, 1)), "
        "layers.Conv2D(4, 3, padding='same', activation='relu'), "
        "layers.Conv2D(3, 1, activation='softmax')])\n"
        "model.compile(optimizer=keras.optimizers.SGD(0.1), "
        "loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
    )
    evaluate = "scores = model.evaluate(x, y, verbose=0)\n"
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, size=(8, 8, 8))
    # Keras on the torch backend cannot train this (its backward fails): compare evaluate.
    ran, converted, _ = run_both(source, evaluate, x, y, tmp_path)
    np.testing.assert_allclose(converted["scores"], ran["scores"], rtol=1e-4, atol=1e-5)
    fit = "history = model.fit(x, y, batch_size=4, epochs=3, verbose=0)\n"
    trained = {"x": x, "y": y}
    exec(convert_source(source + fit).text, trained)
    losses = trained["history"].history["loss"]
    assert losses[-1] < losses[0] and len(trained["history"]["accuracy"]) == 3


# -- 9. the report and the exit status ------------------------------------------------------------
def test_a_notebook_without_keras_says_so():
    nb = new_notebook()
    nb.cells = [new_code_cell("import numpy as np\nprint(np.ones(2))")]
    conversion = convert_notebook_node(nb, "plain.ipynb")
    out = nbformat.reads(conversion.text, as_version=4)
    assert "uses no Keras" in out.cells[-1].source
    assert "Every Keras construct" not in out.cells[-1].source


def test_a_failed_functional_model_is_one_item_at_its_cause():
    source = (
        "import keras\nfrom keras import layers\ninputs = keras.Input((8,))\n"
        "h = layers.Dense(4)(inputs)\nh = layers.UnknownLayer()(h)\n"
        + "".join("h = layers.Dense(4)(h)\n" for _ in range(10))
        + "model = keras.Model(inputs, h)\nmodel.summary()\n"
    )
    report = convert_source(source, "chain.py").report
    assert [(i.loc.line, i.message) for i, _ in report.roots][:1] == [
        (5, "layer UnknownLayer is not supported")
    ]
    assert len(report.roots) <= 2, report.to_text()


@pytest.mark.parametrize(
    ("source", "args", "status"),
    [
        ("import keras\nm = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n", [], 0),
        ("import keras\nkeras.utils.plot_model(None)\n", [], 3),
        ("import keras\nkeras.utils.plot_model(None)\n", ["--strict"], 1),
        ("import keras\nm = (\n", [], 1),
        ("x = 1\n", ["--no-such-option"], 2),
    ],
)
def test_exit_status_says_what_happened(source, args, status, tmp_path, capsys):
    from dlcourse.cli import main

    path = tmp_path / "in.py"
    path.write_text(source)
    try:
        got = main(["convert", str(path), *args])
    except SystemExit as exit:
        got = exit.code
    assert got == status
    assert (tmp_path / "in_torch.py").exists() == (status in (0, 3))


# -- 10. safety ----------------------------------------------------------------------------------
def test_a_crafted_file_name_never_reaches_the_code(tmp_path, capsys):
    from dlcourse.cli import main

    name = 'x""").__class__; import os; os.environ["PWNED"] = "1"; ("""\nimport os.py'
    source = "import keras\nm = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
    source += "m.summary()\nprint(m.layers)\n"
    text = convert_source(source, name).text
    code, report = text.split("\n# Conversion report")
    assert 'os.environ["PWNED"]' not in code
    for line in report.splitlines()[1:]:
        assert line.startswith("#") or not line.strip()
    os.environ.pop("PWNED", None)
    exec(compile(text, "converted", "exec"), {})
    assert "PWNED" not in os.environ
    evil = tmp_path / 'a"""b.py'
    evil.write_text(source)
    assert main(["convert", str(evil), "-o", str(tmp_path / "out.py")]) == 3
    exec((tmp_path / "out.py").read_text(), {})
    assert "PWNED" not in os.environ


def test_huge_constants_are_not_folded():
    import time

    start = time.perf_counter()
    source = (
        "import keras\nn = 10**10**7\ns = 'a' * 10**9\nm = keras.Sequential([keras.Input((3,)), "
    )
    source += "keras.layers.Dense(2 ** 3)])\n"
    text = convert_source(source, "big.py").text
    assert time.perf_counter() - start < 5
    assert "nn.Linear(3, 8)" in text and "n = 10**10**7" in text


def test_output_to_a_directory_or_read_only_place_is_a_clear_error(tmp_path, capsys):
    from dlcourse.cli import main

    path = tmp_path / "in.py"
    path.write_text(
        "import keras\nm = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
    )
    assert main(["convert", str(path), "-o", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status = main(["convert", str(path), "-o", str(locked / "out.py")])
        err = capsys.readouterr().err
        if os.geteuid() != 0:  # root writes anywhere
            assert status == 1 and "cannot write the output" in err and "Traceback" not in err
    finally:
        locked.chmod(0o700)


# -- 8. coverage ----------------------------------------------------------------------------------
COVERAGE = {
    "upsampling2d": ((6, 6, 2), ["layers.UpSampling2D()", "layers.Conv2D(3, 3)"]),
    "upsampling2d_size": ((4, 5, 2), ["layers.UpSampling2D(size=(2, 3))"]),
    "upsampling2d_bilinear": ((4, 4, 2), ["layers.UpSampling2D(interpolation='bilinear')"]),
    "upsampling1d": ((5, 3), ["layers.UpSampling1D(3)", "layers.Conv1D(2, 3)"]),
    "conv2d_transpose_same": ((5, 5, 2), ["layers.Conv2DTranspose(3, 3, 2, padding='same')"]),
    "conv2d_transpose_valid": ((5, 4, 2), ["layers.Conv2DTranspose(3, 3, strides=2)"]),
    "conv2d_transpose_k2": ((4, 4, 2), ["layers.Conv2DTranspose(3, 2, 2, padding='same')"]),
    "conv2d_transpose_k4": ((4, 4, 2), ["layers.Conv2DTranspose(3, 4, 2, padding='same')"]),
    "conv2d_transpose_k5": ((3, 4, 2), ["layers.Conv2DTranspose(3, 5, 2, padding='same')"]),
    "conv2d_transpose_s3": ((3, 3, 2), ["layers.Conv2DTranspose(3, 2, 3, padding='same')"]),
    "conv3d_pool3d": (
        (6, 6, 6, 2),
        ["layers.Conv3D(3, 3, padding='same')", "layers.MaxPooling3D()", "layers.Flatten()",
         "layers.Dense(2)"],
    ),
    "time_distributed": (
        (4, 3), ["layers.TimeDistributed(layers.Dense(5, activation='relu'))", "layers.LSTM(2)"]
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(COVERAGE))
def test_new_layers_match_keras(case, tmp_path):
    pytest.importorskip("keras")
    from test_convert_parity import check_parity, seq

    shape, layer_calls = COVERAGE[case]
    check_parity(seq(shape, *layer_calls), shape, tmp_path)


def test_embedding_without_input_length_and_many_way_merges(tmp_path):
    pytest.importorskip("keras")
    from test_convert_parity import check_parity

    source = (
        "inputs = keras.Input(shape=(6, 4))\n"
        "a = layers.Dense(3)(inputs)\nb = layers.Dense(3)(inputs)\nc = layers.Dense(3)(inputs)\n"
        "s = layers.Add()([a, b, c])\nm = layers.Concatenate()([a, b, c, s])\n"
        "model = keras.Model(inputs, layers.GlobalAveragePooling1D()(m))\n"
    )
    check_parity(source, (6, 4), tmp_path)


def test_embedding_without_input_length(tmp_path):
    keras = pytest.importorskip("keras")
    import torch

    from dlcourse.convert import convert_weights, pick_model

    source = (
        "import keras\nfrom keras import layers\n"
        "model = keras.Sequential([layers.Embedding(50, 4), layers.GlobalAveragePooling1D(), "
        "layers.Dense(1)])\n"
    )
    ran: dict = {}
    exec(source, ran)
    x = np.random.default_rng(0).integers(0, 50, size=(3, 7))
    expected = keras.ops.convert_to_numpy(ran["model"](x))  # builds it
    ran["model"].save(tmp_path / "e.keras")
    conversion = convert_source(source, "embed.py")
    assert not conversion.report.left, conversion.report.to_text()
    converted: dict = {}
    exec(conversion.text, converted)
    model = converted["model"]
    model.load_state_dict(convert_weights(pick_model(conversion, None), tmp_path / "e.keras"))
    for length in (7, 11):  # any sequence length
        x = np.random.default_rng(length).integers(0, 50, size=(3, length))
        with torch.no_grad():
            got = model.eval()(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(ran["model"](x)), atol=1e-5)
    assert expected.shape == (3, 1)


def test_shell_lines_with_continuations_are_kept():
    nb = new_notebook()
    nb.cells = [new_code_cell("!pip install numpy \\\n    pandas\nimport keras\nx = 1")]
    out = nbformat.reads(convert_notebook_node(nb, "shell.ipynb").text, as_version=4)
    assert out.cells[0].source.startswith("!pip install numpy \\\n    pandas\n")


MASKED = {
    "average": ["layers.Embedding(30, 4, mask_zero=True)", "layers.Dropout(0.1)",
                "layers.Dense(3, activation='relu')", "layers.GlobalAveragePooling1D()"],
    "lstm": ["layers.Embedding(30, 4, mask_zero=True)", "layers.LSTM(5)", "layers.Dense(2)"],
    "gru": ["layers.Embedding(30, 4, mask_zero=True)", "layers.GRU(5)"],
    "simple_rnn": ["layers.Embedding(30, 4, mask_zero=True)", "layers.SimpleRNN(3)"],
    "bidirectional": ["layers.Embedding(30, 4, mask_zero=True)",
                      "layers.Bidirectional(layers.LSTM(3))"],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MASKED))
def test_masking_matches_keras_on_zero_padded_inputs(case, tmp_path):
    keras = pytest.importorskip("keras")
    import torch
    from test_convert_parity import randomize, seq

    from dlcourse.convert import convert_weights, pick_model

    source = "import keras\nfrom keras import layers\n" + seq((8,), *MASKED[case])
    ran: dict = {}
    exec(source, ran)
    randomize(ran["model"], np.random.default_rng(0))
    ran["model"].save(tmp_path / "m.keras")
    x = np.random.default_rng(1).integers(1, 30, size=(4, 8))
    x[0, :5] = 0  # padded at the start (Keras's default), at the end, and in the middle
    x[1, 6:] = 0
    x[2, 3] = 0
    expected = keras.ops.convert_to_numpy(ran["model"](x, training=False))
    conversion = convert_source(source, "masked.py")
    assert not conversion.report.left, conversion.report.to_text()
    converted: dict = {}
    exec(conversion.text, converted)
    model = converted["model"]
    model.load_state_dict(convert_weights(pick_model(conversion, None), tmp_path / "m.keras"))
    with torch.no_grad():
        got = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_masking_into_an_unsupported_layer_is_reported():
    source = (
        "import keras\nfrom keras import layers\nmodel = keras.Sequential([keras.Input((8,)), "
        "layers.Embedding(30, 4, mask_zero=True), layers.Flatten(), layers.Dense(2)])\n"
    )
    (issue,) = convert_source(source).report.left
    assert "Flatten after Embedding(mask_zero=True)" in issue.message


def test_several_inputs_and_outputs_match_keras(tmp_path):
    keras = pytest.importorskip("keras")
    import torch
    from test_convert_parity import randomize

    from dlcourse.convert import convert_weights, pick_model

    source = (
        "import keras\nfrom keras import layers\n"
        "image = keras.Input(shape=(6, 6, 1), name='image')\nmeta = keras.Input(shape=(3,))\n"
        "h = layers.Flatten()(layers.Conv2D(2, 3, activation='relu')(image))\n"
        "m = layers.Dense(4, activation='relu')(meta)\nj = layers.concatenate([h, m])\n"
        "model = keras.Model(inputs=[image, meta], outputs=[layers.Dense(1)(j), "
        "layers.Dense(3, activation='softmax', name='kind')(j)])\n"
    )
    ran: dict = {}
    exec(source, ran)
    randomize(ran["model"], np.random.default_rng(0))
    ran["model"].save(tmp_path / "io.keras")
    rng = np.random.default_rng(1)
    xs = [
        rng.normal(size=(4, 6, 6, 1)).astype("float32"),
        rng.normal(size=(4, 3)).astype("float32"),
    ]
    expected = [keras.ops.convert_to_numpy(t) for t in ran["model"](xs)]
    conversion = convert_source(source, "io.py")
    assert not conversion.report.left, conversion.report.to_text()
    converted: dict = {}
    exec(conversion.text, converted)
    model = converted["model"]
    model.load_state_dict(convert_weights(pick_model(conversion, None), tmp_path / "io.keras"))
    with torch.no_grad():
        got = model.eval()(*map(torch.from_numpy, xs))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g.numpy(), e, atol=1e-5)


def test_a_model_with_two_inputs_trains_and_predicts():
    source = (
        "import numpy as np\nimport keras\nfrom keras import layers\n"
        "a = keras.Input((3,))\nb = keras.Input((2,))\n"
        "out = layers.Dense(1)(layers.Concatenate()([a, layers.Dense(3)(b)]))\n"
        "model = keras.Model([a, b], out)\nmodel.compile(optimizer='sgd', loss='mse')\n"
        "xa, xb = np.ones((10, 3), 'float32'), np.ones((10, 2), 'float32')\n"
        "history = model.fit([xa, xb], np.zeros(10), epochs=2, verbose=0, validation_split=0.2)\n"
        "pred = model.predict([xa, xb])\n"
    )
    namespace = run(convert_source(source).text)
    assert namespace["pred"].shape == (10, 1) and len(namespace["history"]["val_loss"]) == 2
