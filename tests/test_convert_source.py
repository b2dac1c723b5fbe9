"""Converting Python source: what is converted, what is kept, what is reported and where."""

import subprocess
import sys

import numpy as np
import pytest

from dlcourse.convert import ConvertError, convert_source


def class_code(text: str) -> list[str]:
    """The generated class and factory, without comments (they quote the source)."""
    start = text.index("    def __init__")
    code = text[start : text.index("\n\n\n", text.index("def create_model"))]
    return [line for line in code.splitlines() if not line.strip().startswith("#")]


@pytest.mark.parametrize(
    "imports, prefix",
    [
        ("import tensorflow as tf", "tf.keras.layers."),
        ("from tensorflow import keras\nfrom tensorflow.keras import layers", "layers."),
        ("from keras.models import Sequential\nfrom keras.layers import Dense, Conv2D", ""),
        ("import keras", "keras.layers."),
    ],
)
def test_import_spellings_give_the_same_model(imports, prefix):
    seq = {"tf.keras.layers.": "tf.keras.Sequential", "": "Sequential"}.get(
        prefix, "keras.Sequential"
    )
    if prefix == "layers.":
        seq = "keras.Sequential"
    source = (
        f"{imports}\n\nmodel = {seq}([\n    {prefix}Conv2D(4, 3, input_shape=(8, 8, 1)),\n"
        f"    {prefix}Dense(2),\n])\n"
    )
    text = convert_source(source).text
    assert not [line for line in text.splitlines() if "import" in line and "keras" in line]
    reference = "import keras\n\nmodel = keras.Sequential([keras.layers.Conv2D(4, 3, "
    reference += "input_shape=(8, 8, 1)), keras.layers.Dense(2)])\n"
    assert class_code(text) == class_code(convert_source(reference).text)


FACTORY = '''\
import numpy as np
from keras import layers, models

# The data: 13 features.
train_data = np.random.default_rng(0).normal(size=(40, 13)).astype("float32")
train_targets = train_data.sum(axis=1)


def build_model(units=16):
    """Build and compile the model."""
    model = models.Sequential()
    model.add(layers.Dense(units, activation="relu", input_shape=(train_data.shape[1],)))
    model.add(layers.Dense(1))
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model


for fold in range(2):
    model = build_model()
    history = model.fit(train_data, train_targets, epochs=3, batch_size=8, verbose=0)
    mse, mae = model.evaluate(train_data, train_targets, verbose=0)
print(round(mae, 3) >= 0, len(history.history["mae"]))
'''


def test_model_built_in_a_function_is_hoisted_and_runs():
    conversion = convert_source(FACTORY, "boston.py")
    text = conversion.text
    assert not conversion.report.left
    assert text.index("class Model(nn.Module):") < text.index("def build_model(units=16):")
    assert "model = create_model(units=units, in_features=train_data.shape[1])" in text
    assert "# The data: 13 features." in text and '"""Build and compile the model."""' in text
    namespace: dict = {}
    exec(text, namespace)
    assert len(namespace["history"]["mae"]) == 3
    assert np.isfinite(namespace["mse"])


def test_model_returned_directly_and_built_later():
    source = (
        "import keras\n\ndef make_model(n):\n    return keras.Sequential([keras.Input((n,)), "
        "keras.layers.Dense(3)])\n\nnet = make_model(5)\nnet.compile(loss='mse')\n"
        "other = keras.Sequential([keras.layers.Dense(2)])\nother.build((None, 4))\n"
    )
    conversion = convert_source(source)
    assert not conversion.report.left, conversion.report.to_text()
    assert "return create_model(n=n)" in conversion.text
    assert "optimizer = torch.optim.RMSprop(net.parameters()" in conversion.text
    namespace: dict = {}
    exec(conversion.text, namespace)
    assert namespace["net"].dense.in_features == 5 and namespace["other"].dense.in_features == 4


REPORTED = """\
import keras
from keras import layers


def train(net, x, y):
    net.fit(x, y, epochs=3)


(x_train, y_train), _ = keras.datasets.reuters.load_data(num_words=1000)
cnn = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3, data_format="channels_first")])
cnn.summary()
inputs = keras.Input((4,))
hidden = layers.Dense(3)(inputs)
print(hidden.shape)
seq = keras.Sequential([keras.Input((6, 4)), layers.LSTM(3, dropout=0.2)])
seq.compile(loss="categorical_crossentropy")
print(seq.layers)
tabular = keras.Sequential([layers.Dense(2)])
"""


def test_unconverted_constructs_are_commented_out_and_reported_with_their_line():
    conversion = convert_source(REPORTED, "reported.py")
    left = {issue.loc.line: issue.message for issue in conversion.report.left}
    assert "cannot tell which model net is" in left[6]
    assert "keras.datasets.reuters" in left[9]
    assert "data_format='channels_first'" in left[10]
    assert "uses cnn, whose model was not converted (reported.py, line 10)" in left[11]
    assert "Keras tensor hidden" in left[14] or "Keras layer call" in left[13]
    assert "dropout=0.2 is not reproduced" in left[15]
    assert 16 not in left  # no final softmax: Keras's clipping, written out (issue 27)
    assert "seq.layers has no converted equivalent" in left[17]
    assert 18 not in left  # no input shape: lazy modules (issue 27)
    text = conversion.text
    for line in ("    # net.fit(x, y, epochs=3)", "# cnn.summary()", "# print(seq.layers)"):
        assert line in text
    assert "    pass" in text  # train() lost its only statement: still valid Python
    assert "class Seq(nn.Module):" in text  # the LSTM model itself is converted
    assert "self.dense = nn.LazyLinear(2)" in text
    compile(text, "reported_torch.py", "exec")


def test_report_lines_count_from_the_file_start():
    source = "\n\n# comment\nimport keras\nkeras.utils.plot_model(None)\n"
    (issue,) = convert_source(source, "f.py").report.left
    assert str(issue.loc) == "f.py, line 5"


def test_statements_sharing_a_line_are_split_and_reported_at_their_line():
    source = (
        "import keras\nm = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]); "
        "m.summary()\nif True: m.summary()\ndef f(x):\n    # kept\n    if x: print(m.layers)\n"
        "    else: return 1\na = 1; b = 2\n"
    )
    conversion = convert_source(source, "s.py")
    assert [str(i.loc) for i in conversion.report.left] == ["s.py, line 6"]
    text = conversion.text
    assert text.count("summary(m)") == 2 and "if True:\n    # Keras: m.summary()" in text
    assert "    # kept\n    if x:\n        # NOT CONVERTED" in text and "a = 1\nb = 2\n" in text
    namespace: dict = {}
    exec(text, namespace)
    assert namespace["f"](False) == 1 and namespace["f"](True) is None


def test_layer_names_become_attributes_unless_nn_module_uses_them():
    source = (
        "import keras\nm = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, "
        "name='training'), keras.layers.Dense(2, name='head')])\n"
    )
    text = convert_source(source).text
    assert "self.dense = nn.Linear(3, 2)" in text and "self.head = nn.Linear(2, 2)" in text


def test_syntax_error_names_file_and_line():
    with pytest.raises(ConvertError, match=r"bad\.py, line 2: invalid Python syntax"):
        convert_source("import keras\nmodel = keras.Sequential([\n", "bad.py")


def test_source_without_keras_is_unchanged():
    source = "import numpy as np\n\n# just numpy\nprint(np.zeros(2))\n"
    conversion = convert_source(source)
    assert conversion.text.startswith(source)
    assert "no Keras code found" in conversion.report.to_text()


def test_library_works_without_keras_installed():
    """Converting needs neither Keras nor TensorFlow: block their import and convert."""
    code = (
        "import sys\nsys.modules['keras'] = None\nsys.modules['tensorflow'] = None\n"
        "from dlcourse.convert import convert_source\n"
        "text = convert_source('import keras\\nm = keras.Sequential([keras.Input((3,)), "
        "keras.layers.Dense(2)])\\n').text\n"
        "assert 'nn.Linear(3, 2)' in text\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
