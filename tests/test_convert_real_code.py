"""Keras code as people really write it (issue 27): one reproducer per defect.

Each test is a minimal Keras snippet on which the converter of the second step failed; each
converts here, and where it trains, the converted program is run.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from pathlib import Path

import pytest

from dlcourse.convert import convert_source

HEAD = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
"""

DENSE = (
    "model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation='relu'),\n"
    "    layers.Dense(1, activation='sigmoid')])\n"
)


def run(text: str) -> dict:
    namespace: dict = {}
    exec(text, namespace)
    return namespace


def left(conversion) -> dict[int, str]:
    """The report's root items: line -> message."""
    return {issue.loc.line: issue.message for issue, _ in conversion.report.roots}


# -- 1. never exit 1 on user code -----------------------------------------------------------------
TRIGGERS = {
    "one optimizer, two compiles": DENSE + "opt = keras.optimizers.RMSprop(learning_rate=1e-3)\n"
    "model.compile(optimizer=opt, loss='binary_crossentropy')\n"
    "model2 = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1, activation='sigmoid')])\n"
    "model2.compile(optimizer=opt, loss='binary_crossentropy')\n"
    "h = model2.fit(x, y, epochs=1, verbose=0)\n"
    "print(opt.learning_rate)\n",
    "tf.function": DENSE + "@tf.function\ndef f(a):\n    return model.predict(a)\nprint(f(x))\n",
    "loss object outside compile": DENSE
    + "loss_fn = keras.losses.BinaryCrossentropy()\nprint(loss_fn(y, model.predict(x)))\n",
    "GradientTape": DENSE + "opt = keras.optimizers.SGD()\n"
    "def step(a, b):\n"
    "    with tf.GradientTape() as tape:\n"
    "        loss = tf.reduce_mean((model(a) - b) ** 2)\n"
    "    grads = tape.gradient(loss, model.trainable_weights)\n"
    "    opt.apply_gradients(zip(grads, model.trainable_weights))\n"
    "    return loss\n"
    "for i in range(2):\n"
    "    print(step(x, y))\n",
}


@pytest.mark.parametrize("name", TRIGGERS)
def test_user_code_never_stops_the_conversion(name):
    conversion = convert_source(HEAD + TRIGGERS[name], "t.py")
    run(conversion.text)


def test_a_gradient_tape_loop_is_reported_at_its_input_line_with_what_follows():
    conversion = convert_source(HEAD + TRIGGERS["GradientTape"], "t.py")
    roots = {issue.loc.line: (issue.message, places) for issue, places in conversion.report.roots}
    message, places = roots[12]
    assert "custom training step (tf.GradientTape) is not converted" in message
    assert 18 in {p.line for p in places}  # the caller of the step, hollowed
    assert "\n    # with tf.GradientTape() as tape:\n" in conversion.text


def test_tf_function_is_dropped_and_the_function_kept():
    conversion = convert_source(HEAD + TRIGGERS["tf.function"], "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "def f(a):" in conversion.text


# -- 6. uses left live after their definitions are commented out ---------------------------------
def test_an_augmented_assignment_follows_its_removed_definition():
    source = HEAD + "t = tf.constant(x)\nt /= 255.\nprint(t)\n"
    conversion = convert_source(source, "t.py")
    roots = conversion.report.roots
    assert len(roots) == 1 and {p.line for p in roots[0][1]} == {9, 10}
    run(conversion.text)


def test_callers_of_a_hollowed_function_are_commented_out():
    source = HEAD + "def scale(a):\n    return tf.nn.relu(a) * 2\nout = scale(x)\nprint(out + 1)\n"
    conversion = convert_source(source, "t.py")
    ((issue, places),) = conversion.report.roots
    assert issue.loc.line == 9 and {p.line for p in places} == {10, 11}
    run(conversion.text)


# -- 2. models with no input shape: PyTorch's lazy modules ----------------------------------------
LAZY = {
    "dense": ((5,), "layers.Dense(8, activation='relu'), layers.Dense(3)"),
    "cnn": (
        (9, 9, 2),
        "layers.Conv2D(4, 3, activation='relu'), layers.BatchNormalization(), "
        "layers.MaxPool2D(), layers.Flatten(), layers.Dense(3, activation='softmax')",
    ),
    "conv1d": ((12, 3), "layers.Conv1D(4, 3), layers.GlobalMaxPool1D(), layers.Dense(2)"),
}


@pytest.mark.parametrize("case", LAZY)
def test_a_model_without_input_shape_matches_keras_after_its_first_batch(case, tmp_path):
    import keras
    import numpy as np
    import torch

    from dlcourse.convert import convert_weights, pick_model

    shape, body = LAZY[case]
    source = f"import keras\nfrom keras import layers\nmodel = keras.Sequential([{body}])\n"
    namespace: dict = {}
    exec(source, namespace)
    keras_model = namespace["model"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, *shape)).astype("float32")
    keras_model(x)  # Keras builds the model on its first call
    keras_model.set_weights(
        [
            rng.uniform(0.5, 1.5, w.shape) if "variance" in w.path else rng.normal(0, 0.5, w.shape)
            for w in keras_model.weights
        ]
    )
    keras_model.save(tmp_path / "m.keras")
    expected = keras.ops.convert_to_numpy(keras_model(x, training=False))

    conversion = convert_source(source, "lazy.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "nn.Lazy" in conversion.text
    model = run(conversion.text)["model"]
    model(torch.from_numpy(x))  # the first batch gives the lazy modules their sizes
    model.load_state_dict(convert_weights(pick_model(conversion, None), tmp_path / "m.keras"))
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    assert np.abs(got - expected).max() <= 1e-5


def test_a_model_without_input_shape_trains():
    source = HEAD + (
        "model = keras.Sequential([layers.Dense(16, activation='relu'), layers.Dense(1)])\n"
        "model.compile(optimizer='adam', loss='mse', metrics=['mae'])\n"
        "model.summary()\n"
        "history = model.fit(x, y, epochs=5, verbose=0)\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    history = run(conversion.text)["history"]
    assert history["loss"][-1] < history["loss"][0]


def test_a_layer_that_needs_its_input_size_is_reported_not_guessed():
    source = HEAD + "model = keras.Sequential([layers.LSTM(4), layers.Dense(1)])\n"
    ((issue, _),) = convert_source(source, "t.py").report.roots
    assert "has no input shape" in issue.message and "LSTM" in issue.message


# -- 3. every layer alias Keras exports -----------------------------------------------------------
def test_every_layer_alias_keras_exports_is_accepted():
    import inspect

    import keras

    from dlcourse.convert.layers.registry import KERAS_ALIASES

    exported = {
        name: obj.__name__
        for name, obj in vars(keras.layers).items()
        if inspect.isclass(obj) and obj.__name__ != name and not name.startswith("_")
    }
    assert exported == KERAS_ALIASES


@pytest.mark.parametrize("alias", ["MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Convolution2D"])
def test_layer_aliases_convert(alias):
    call = {"Convolution2D": f"layers.{alias}(2, 3)"}.get(alias, f"layers.{alias}()")
    source = HEAD + f"model = keras.Sequential([keras.Input((6, 6, 2)), {call}])\n"
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()


# -- 7. add() after summary() ---------------------------------------------------------------------
def test_add_after_summary_keeps_the_whole_model():
    source = HEAD + (
        "model = keras.Sequential()\n"
        "model.add(keras.Input(shape=(4,)))\n"
        "model.add(layers.Dense(8, activation='relu'))\n"
        "model.summary()\n"
        "model.add(layers.Dense(1, activation='sigmoid'))\n"
        "model.summary(line_length=80)\n"
        "model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])\n"
        "history = model.fit(x, y, epochs=2, verbose=0)\n"
        "print(history.history['val_acc'] if 'val_acc' in history.history else 0)\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    model = run(conversion.text)["model"]
    assert sum(p.numel() for p in model.parameters()) == 4 * 8 + 8 + 8 + 1


# -- 10. Keras 2 --------------------------------------------------------------------------------
def test_keras2_history_keys():
    source = (
        HEAD
        + DENSE
        + (
            "model.compile(optimizer='adam', loss='binary_crossentropy',\n"
            "    metrics=['accuracy', 'mae'])\n"
            "history = model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y))\n"
            "print(history.history['acc'], history.history['val_acc'])\n"
            "print(history.history['mean_absolute_error'])\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    history = run(conversion.text)["history"]
    assert history["acc"] == history["accuracy"] and history["val_acc"] == history["val_accuracy"]
    assert history["mean_absolute_error"] == history["mae"]


# -- 9. smaller gaps -------------------------------------------------------------------------------
def test_keras_hub_is_dropped_and_reported():
    source = HEAD + "import keras_hub\nbackbone = keras_hub.models.Backbone.from_preset('x')\n"
    conversion = convert_source(source, "t.py")
    assert [i.loc.line for i, _ in conversion.report.roots] == [9]
    assert "\nimport keras_hub" not in conversion.text


# -- 4. losses by what the model outputs ---------------------------------------------------------
@pytest.mark.parametrize(
    ("loss", "last", "target"),
    [
        ("binary_crossentropy", "layers.Dense(1)", "binary"),
        ("categorical_crossentropy", "layers.Dense(3, activation='softplus')", "onehot"),
        ("sparse_categorical_crossentropy", "layers.Dense(3, activation='softplus')", "sparse"),
    ],
)
def test_a_probability_loss_without_its_activation_clips_as_keras_and_trains(loss, last, target):
    import keras
    import numpy as np
    import torch

    labels = {
        "binary": "y",
        "onehot": "np.eye(3, dtype='float32')[(x[:, 1] > 0).astype(int) + (x[:, 2] > 0)]",
        "sparse": "(x[:, 1] > 0).astype('int64') + (x[:, 2] > 0)",
    }[target]
    source = HEAD + (
        "keras.utils.set_random_seed(0)\n"  # outputs that all start clipped would not move
        f"t = {labels}\n"
        "model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation='relu'),\n"
        f"    {last}])\n"
        f"model.compile(optimizer='adam', loss='{loss}')\n"
        "history = model.fit(x, t, epochs=3, verbose=0)\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    namespace = run(conversion.text)
    losses = namespace["history"]["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    rng = np.random.default_rng(1)
    output = rng.normal(0.3, 1.0, size=(16, 1 if target == "binary" else 3)).astype("float32")
    if target != "binary":
        output = np.abs(output)
    t = namespace["t"][:16].reshape(16, -1) if target == "binary" else namespace["t"][:16]
    expected = float(np.mean(keras.ops.convert_to_numpy(getattr(keras.losses, loss)(t, output))))
    got = namespace["loss_fn"](torch.from_numpy(output), torch.as_tensor(t, dtype=torch.float32))
    assert abs(float(got) - expected) <= 1e-5


# -- 5. Keras's input conventions in fit/predict/evaluate -----------------------------------------
def test_one_dimensional_inputs_and_tables_are_taken_as_keras_takes_them():
    source = HEAD + (
        "import pandas as pd\n"
        "v = x[:, 0]\n"
        "model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(1)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
        "history = model.fit(v, 2 * v, epochs=2, verbose=0)\n"
        "p = model.predict(v)\n"
        "q = model.predict(pd.DataFrame({'v': v}))\n"
        "e = model.evaluate((v,), 2 * v, verbose=0)\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    namespace = run(conversion.text)
    assert namespace["p"].shape == namespace["q"].shape == (32, 1)
    assert namespace["e"] > 0


def test_keras2_fit_generator_draws_its_steps_from_a_generator():
    source = (
        HEAD
        + DENSE
        + (
            "def batches(n):\n"
            "    while True:\n"
            "        for i in range(0, len(x), n):\n"
            "            yield x[i:i + n], y[i:i + n]\n"
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['acc'])\n"
            "history = model.fit_generator(batches(8), 4, epochs=3, verbose=0,\n"
            "    validation_data=batches(16), validation_steps=2, workers=2)\n"
            "loss, acc = model.evaluate_generator(batches(8), steps=4)\n"
            "p = model.predict_generator(batches(8), 2)\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    namespace = run(conversion.text)
    history = namespace["history"]
    assert len(history["val_acc"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert namespace["p"].shape == (16, 1)


# -- 8. a model passed as an argument; the program's own predict ---------------------------------
def test_predict_on_a_model_passed_in_and_a_users_own_predict():
    source = (
        HEAD
        + DENSE
        + (
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
            "def predict(m, data):\n"
            "    return (m.predict(data, verbose=0) > 0.5).astype(int)\n"
            "def report(net, data, labels):\n"
            "    net.summary()\n"
            "    return net.evaluate(data, labels, verbose=0)\n"
            "history = model.fit(x, y, epochs=1, verbose=0)\n"
            "labels = predict(model, x)\n"
            "loss, accuracy = report(model, x, y)\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "def model_predict(model, x" in conversion.text
    namespace = run(conversion.text)
    assert namespace["labels"].shape == (32, 1) and 0 <= namespace["accuracy"] <= 1


def test_a_computed_layer_name_is_only_a_label():
    source = HEAD + (
        "i = 3\n"
        "model = keras.Sequential([keras.Input((4,)), layers.Dense(2, name=f'dense_{i}'),\n"
        "    layers.Dense(1, name='out_' + str(i))])\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "self.dense = nn.Linear(4, 2)" in conversion.text


def test_metric_functions_and_summary_layout_arguments():
    source = (
        HEAD
        + DENSE
        + (
            "model.compile(optimizer='adam', loss='binary_crossentropy',\n"
            "    metrics=[keras.metrics.binary_accuracy, tf.keras.metrics.mae])\n"
            "model.summary(line_length=80)\n"
            "history = model.fit(x, y, epochs=1, verbose=0)\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert set(run(conversion.text)["history"]) == {"loss", "binary_accuracy", "mae"}


def test_one_report_item_per_cause_across_layers():
    reg = "kernel_regularizer=keras.regularizers.l2(0.01)"
    layers_ = ",\n".join(f"    layers.Dense(4, {reg})" for _ in range(5))
    source = HEAD + f"model = keras.Sequential([keras.Input((4,)),\n{layers_}])\n"
    text = convert_source(source, "t.py").report.to_text()
    assert text.count("kernel_regularizer") == 1, text
    assert "1 not converted" in text


def test_image_data_generator_becomes_torchvision_transforms_and_trains():
    source = (
        "import numpy as np\n"
        "from keras.models import Sequential\n"
        "from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense\n"
        "from keras.preprocessing.image import ImageDataGenerator\n"
        "x = np.random.default_rng(0).random((64, 12, 12, 3)).astype('float32') * 255\n"
        "y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype('int64')\n"
        "datagen = ImageDataGenerator(rescale=1./255, rotation_range=10, width_shift_range=0.1,\n"
        "    height_shift_range=0.1, shear_range=5, zoom_range=0.1, horizontal_flip=True)\n"
        "test_datagen = ImageDataGenerator(rescale=1./255)\n"
        "model = Sequential()\n"
        "model.add(Conv2D(4, (3, 3), activation='relu', input_shape=(12, 12, 3)))\n"
        "model.add(MaxPooling2D((2, 2)))\n"
        "model.add(Flatten())\n"
        "model.add(Dense(1, activation='sigmoid'))\n"
        "model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['acc'])\n"
        "history = model.fit_generator(datagen.flow(x, y, batch_size=16), steps_per_epoch=4,\n"
        "    epochs=3, validation_data=test_datagen.flow(x, y, batch_size=16))\n"
        "batch_x, batch_y = next(test_datagen.flow(x, y, batch_size=8, shuffle=False))\n"
        "folder = datagen.flow_from_directory('images')\n"
    )
    conversion = convert_source(source, "t.py")
    roots = conversion.report.roots
    assert [i.message for i, _ in roots] == [
        "ImageDataGenerator.flow_from_directory is not converted"
    ]
    assert "v2.RandomAffine(degrees=10" in conversion.text
    namespace = run(conversion.text)
    assert len(namespace["history"]["val_acc"]) == 3
    assert namespace["batch_x"].shape == (8, 12, 12, 3)
    assert float(namespace["batch_x"].max()) <= 1.0  # rescaled, as Keras does


def test_calling_the_model_on_arrays_gives_keras_probabilities():
    source = HEAD + (
        "model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
        "predictions = model(x[:2]).numpy()\n"
        "again = model(x[:2], training=False)\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    namespace = run(conversion.text)
    assert namespace["predictions"].shape == (2, 3)
    assert abs(namespace["predictions"].sum(axis=1) - 1).max() < 1e-6  # the softmax, applied


# -- exit 1 is left for the converter's own faults -------------------------------------------------
CASES = sorted((Path(__file__).parent / "convert_cases").glob("*.ipynb"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_no_case_notebook_makes_the_cli_exit_1(path, tmp_path, capsys):
    from dlcourse.cli import main

    assert main(["convert", str(path), "-o", str(tmp_path / "out.ipynb")]) in (0, 3)


def test_triggers_through_the_cli_exit_3_with_their_input_lines(tmp_path, capsys):
    from dlcourse.cli import main

    path = tmp_path / "tape.py"
    path.write_text(HEAD + TRIGGERS["GradientTape"])
    assert main(["convert", str(path)]) == 3
    assert f"{path}, line 12: a custom training step" in capsys.readouterr().err


def test_inputs_as_a_dict_keyed_by_input_names():
    source = HEAD + (
        "title = keras.Input(shape=(3,), name='title')\n"
        "body = keras.Input(shape=(2,), name='body')\n"
        "h = layers.Concatenate()([title, body])\n"
        "model = keras.Model(inputs=[title, body], outputs=layers.Dense(1)(h))\n"
        "model.compile(optimizer='rmsprop', loss='mse')\n"
        "model.fit({'body': x[:, :2], 'title': x[:, 1:]}, y, epochs=1, verbose=0)\n"
        "p = model.predict({'title': x[:, 1:], 'body': x[:, :2]})\n"
        "q = model.predict([x[:, 1:], x[:, :2]])\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    namespace = run(conversion.text)
    assert (namespace["p"] == namespace["q"]).all()


def test_compile_of_an_unconverted_subclassed_model_follows_it():
    source = HEAD + (
        "class Net(keras.Model):\n"
        "    def call(self, inputs):\n"
        "        return inputs\n"
        "net = Net()\n"
        "net.compile(optimizer='adam', loss='mse')\n"
    )
    conversion = convert_source(source, "t.py")
    ((issue, places),) = conversion.report.roots
    assert issue.loc.line == 8 and [p.line for p in places] == [11, 12]
    run(conversion.text)


# -- explicit over magic: compile's loss and optimizer are variables, not on the model ------------
def test_compile_binds_variables_that_fit_takes_and_print_shows_no_loss():
    source = (
        HEAD
        + DENSE
        + (
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
            "history = model.fit(x, y, epochs=2, verbose=0)\n"
            "scores = model.evaluate(x, y, verbose=0)\n"
            "shown = str(model)\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    text = conversion.text
    assert "\nloss_fn = nn.BCEWithLogitsLoss()" in text
    assert "\noptimizer = torch.optim.Adam(model.parameters()" in text
    assert "history = fit(model, loss_fn, optimizer, x, y, epochs=2" in text
    assert "scores = evaluate(model, loss_fn, x, y, verbose=0, metrics=metrics)" in text
    assert "model.loss_fn" not in text and "model.optimizer" not in text
    namespace = run(text)
    assert "Loss" not in namespace["shown"] and "Linear" in namespace["shown"]
    assert not hasattr(namespace["model"], "loss_fn")
    assert not hasattr(namespace["model"], "optimizer")
    assert len(namespace["scores"]) == 2


def test_each_compiled_model_gets_its_own_variables():
    source = (
        HEAD
        + DENSE
        + (
            "model2 = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])\n"
            "model.compile(optimizer='adam', loss='binary_crossentropy')\n"
            "model2.compile(optimizer='sgd', loss='mse')\n"
            "h = model.fit(x, y, epochs=1, verbose=0)\n"
            "h2 = model2.fit(x, y, epochs=1, verbose=0)\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    text = conversion.text
    assert "model2_optimizer = torch.optim.SGD(model2.parameters()" in text
    assert "fit(model, model_loss_fn, model_optimizer, x, y" in text
    assert "fit(model2, model2_loss_fn, model2_optimizer, x, y" in text
    run(text)


def test_a_model_compiled_in_a_factory_trains_outside_it_and_a_stale_optimizer_is_refused():
    source = HEAD + (
        "def build():\n"
        "    m = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])\n"
        "    optimizer = keras.optimizers.RMSprop(0.001)\n"
        "    m.compile(optimizer=optimizer, loss='mse', metrics=['mae'])\n"
        "    return m\n"
        "model = build()\n"
        "history = model.fit(x, y, epochs=2, verbose=0)\n"
        "other = build()\n"
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "    global loss_fn, optimizer, metrics" in conversion.text
    namespace = run(conversion.text)
    assert len(namespace["history"]["mae"]) == 2
    fit = namespace["fit"]  # the optimizer now belongs to `other`
    with pytest.raises(ValueError, match="this optimizer updates another model"):
        fit(namespace["model"], namespace["loss_fn"], namespace["optimizer"], x=namespace["x"])


def test_the_helpers_hold_only_what_the_program_uses():
    source = (
        HEAD
        + DENSE
        + (
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
            "history = model.fit(x, y, epochs=1, verbose=0)\n"
        )
    )
    text = convert_source(source, "t.py").text
    assert "def train_one_epoch(model, loader, optimizer, loss_fn" in text
    for unused in ("def auc(", "class Callback", "class Batches", "callback.", "EPOCH_METRICS"):
        assert unused not in text
    assert 'METRICS = {"accuracy": accuracy}' in text


def test_a_global_model_compiled_in_a_function_is_fitted_outside_it():
    source = (
        HEAD
        + DENSE
        + (
            "def setup():\n"
            "    model.compile(optimizer='adam', loss='binary_crossentropy')\n"
            "setup()\n"
            "history = model.fit(x, y, epochs=2, verbose=0)\n"
        )
    )
    conversion = convert_source(source, "t.py")
    assert not conversion.report.left, conversion.report.to_text()
    assert "    global loss_fn, optimizer, metrics" in conversion.text
    assert len(run(conversion.text)["history"]["loss"]) == 2
