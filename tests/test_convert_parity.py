"""Numerical parity: converted code + converted weights give Keras's outputs (float32, 1e-5).

Each case is Keras source as a user would write it. The test builds the Keras model from it
(Keras 3 on its PyTorch backend), gives it random weights, saves it, converts the source and
the saved weights, and compares both models on random inputs.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

from dlcourse.convert import convert_source, convert_weights, pick_model

keras = pytest.importorskip("keras")

HEADER = "import keras\nfrom keras import layers\n\n"
TOLERANCE = 1e-5


def seq(shape: tuple, *layer_calls: str) -> str:
    """Source of a Sequential model with an Input of ``shape``."""
    body = "".join(f"    {call},\n" for call in layer_calls)
    return f"model = keras.Sequential([\n    keras.Input(shape={shape}),\n{body}])\n"


def randomize(model, rng: np.random.Generator) -> None:
    """Random weights everywhere (zero biases would hide bias mistakes); variances positive."""
    values = []
    for weight in model.weights:
        shape = tuple(weight.shape)
        if "variance" in weight.path:
            values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            values.append(rng.normal(0, 0.5, shape).astype("float32"))
    model.set_weights(values)


def make_input(shape: tuple, rng: np.random.Generator, vocab: int | None) -> np.ndarray:
    size = (3, *shape)
    if vocab is not None:
        return rng.integers(0, vocab, size=size).astype("int64")
    return rng.normal(0, 1, size=size).astype("float32")


def check_parity(source: str, shape: tuple, tmp_path, fmt: str = "keras", vocab=None, post=None):
    """Build, save, convert and compare; returns the converted source for further checks."""
    rng = np.random.default_rng(0)
    namespace: dict = {}
    exec(HEADER + source, namespace)
    keras_model = namespace["model"]
    randomize(keras_model, rng)
    path = tmp_path / f"model.{fmt}"
    keras_model.save(path)
    x = make_input(shape, rng, vocab)
    expected = keras.ops.convert_to_numpy(keras_model(x, training=False))

    conversion = convert_source(HEADER + source, "case.py")
    assert not conversion.report.left, conversion.report.to_text()
    converted: dict = {}
    exec(conversion.text, converted)
    model = converted["model"]
    model.load_state_dict(convert_weights(pick_model(conversion, None), path))
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x))
    got = (post or (lambda t: t))(got).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE, conversion.text
    return conversion.text


ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "linear", "elu", "gelu"]
ACTIVATIONS += ["selu", "softplus", "silu", "leaky_relu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activations(activation, tmp_path):
    check_parity(seq((6,), f"layers.Dense(5, activation={activation!r})"), (6,), tmp_path)


LAYER_CASES = {
    "dense_no_bias_on_sequences": seq((4, 6), "layers.Dense(3, use_bias=False)"),
    "input_shape_kwarg": "model = keras.Sequential([layers.Dense(3, input_shape=(6,))])\n",
    "input_dim_and_add": (
        "model = keras.Sequential()\nmodel.add(layers.Dense(4, input_dim=6, activation='tanh'))\n"
        "model.add(layers.Dense(2))\n"
    ),
    "input_layer": "model = keras.Sequential([layers.InputLayer(shape=(6,)), layers.Dense(2)])\n",
    "conv2d_valid": seq((7, 7, 2), "layers.Conv2D(3, (3, 2), activation='relu')"),
    "conv2d_same_even_kernel": seq((6, 6, 2), "layers.Conv2D(3, 4, padding='same')"),
    "conv2d_same_stride_2": seq((7, 8, 2), "layers.Conv2D(3, 3, strides=2, padding='same')"),
    "conv2d_dilated_groups": seq(
        (9, 9, 4), "layers.Conv2D(4, 3, dilation_rate=2, groups=2, use_bias=False)"
    ),
    "conv1d_valid_stride": seq((9, 3), "layers.Conv1D(4, 3, strides=2)"),
    "conv1d_same": seq((9, 3), "layers.Conv1D(4, 4, padding='same')"),
    "conv1d_causal": seq((9, 3), "layers.Conv1D(4, 3, padding='causal', dilation_rate=2)"),
    "max_pool2d": seq((7, 7, 2), "layers.MaxPooling2D()"),
    "max_pool2d_same_odd": seq((7, 7, 2), "layers.MaxPooling2D(padding='same')"),
    "max_pool2d_strides": seq((9, 9, 2), "layers.MaxPooling2D((3, 3), strides=2)"),
    "max_pool1d_same": seq((9, 3), "layers.MaxPooling1D(2, padding='same')"),
    "avg_pool2d_same_odd": seq((7, 5, 2), "layers.AveragePooling2D(2, padding='same')"),
    "avg_pool2d_same_stride_1": seq((5, 5, 2), "layers.AveragePooling2D(3, 1, 'same')"),
    "avg_pool1d": seq((8, 3), "layers.AveragePooling1D(2)"),
    "global_avg_2d_after_conv": seq(
        (6, 6, 2), "layers.Conv2D(3, 3)", "layers.GlobalAveragePooling2D()"
    ),
    "global_max_2d": seq((6, 6, 2), "layers.GlobalMaxPooling2D()"),
    "global_avg_1d": seq((5, 3), "layers.GlobalAveragePooling1D()"),
    "global_max_1d_after_conv": seq(
        (8, 3), "layers.Conv1D(4, 3)", "layers.GlobalMaxPooling1D(keepdims=True)"
    ),
    "flatten_conv2d_dense": seq(
        (6, 5, 2),
        "layers.Conv2D(3, 3)",
        "layers.Flatten()",
        "layers.Dropout(0.5)",
        "layers.Dense(4)",
    ),
    "flatten_conv1d_dense": seq(
        (7, 2), "layers.Conv1D(3, 2)", "layers.Flatten()", "layers.Dense(4)"
    ),
    "flatten_conv_as_output": seq((5, 4, 2), "layers.Conv2D(3, 2)", "layers.Flatten()"),
    "conv_output_channels_last": seq((5, 5, 2), "layers.Conv2D(3, 3, padding='same')"),
    "dropout": seq((6,), "layers.Dropout(0.3)", "layers.Dense(2)"),
    "batch_norm_features": seq((6,), "layers.BatchNormalization()"),
    "batch_norm_sequence": seq((4, 3), "layers.BatchNormalization(momentum=0.9, epsilon=1e-5)"),
    "batch_norm_images": seq((5, 5, 3), "layers.Conv2D(2, 3)", "layers.BatchNormalization()"),
    "batch_norm_no_affine": seq((6,), "layers.BatchNormalization(center=False, scale=False)"),
    "activation_softmax_on_images": seq(
        (4, 4, 3), "layers.Conv2D(5, 1)", "layers.Activation('softmax')"
    ),
    "relu_layers": seq((6,), "layers.ReLU()", "layers.Dense(6)", "layers.ReLU(max_value=0.5)"),
    "leaky_relu_layer": seq((6,), "layers.ReLU(negative_slope=0.1)"),
    "reshape_then_conv": seq((16,), "layers.Reshape((4, 4, 1))", "layers.Conv2D(2, 3)"),
    "reshape_minus_one": seq((4, 6), "layers.Reshape((-1, 3))", "layers.Dense(2)"),
    "rescaling": seq((6,), "layers.Rescaling(1 / 255, offset=-1.0)", "layers.Dense(2)"),
    "simple_rnn": seq((5, 3), "layers.SimpleRNN(4)"),
    "simple_rnn_relu_sequences": seq(
        (5, 3), "layers.SimpleRNN(4, activation='relu', return_sequences=True)"
    ),
    "lstm": seq((5, 3), "layers.LSTM(4)"),
    "lstm_sequences": seq((5, 3), "layers.LSTM(4, return_sequences=True)"),
    "gru": seq((5, 3), "layers.GRU(4)"),
    "gru_sequences_no_bias": seq((5, 3), "layers.GRU(4, return_sequences=True, use_bias=False)"),
    "bidirectional_lstm": seq((5, 3), "layers.Bidirectional(layers.LSTM(4))"),
    "bidirectional_gru_sequences": seq(
        (5, 3), "layers.Bidirectional(layers.GRU(4, return_sequences=True))"
    ),
    "bidirectional_simple_rnn": seq((5, 3), "layers.Bidirectional(layers.SimpleRNN(2))"),
    "functional_concatenate_add": (
        "inputs = keras.Input(shape=(6,))\n"
        "a = layers.Dense(4, activation='relu')(inputs)\n"
        "b = layers.Dense(4)(inputs)\n"
        "x = layers.Add()([a, b])\n"
        "x = layers.Concatenate()([x, inputs])\n"
        "model = keras.Model(inputs=inputs, outputs=layers.Dense(2)(x))\n"
    ),
    "functional_concatenate_images": (
        "inputs = keras.Input(shape=(6, 6, 2))\n"
        "a = layers.Conv2D(3, 3, padding='same')(inputs)\n"
        "b = layers.Conv2D(2, 1)(inputs)\n"
        "x = layers.concatenate([a, b])\n"
        "x = layers.concatenate([x, x], axis=1)\n"
        "model = keras.Model(inputs, x)\n"
    ),
}


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_parity(name, tmp_path):
    source = LAYER_CASES[name]
    shapes = {"input_shape_kwarg": (6,), "input_dim_and_add": (6,), "input_layer": (6,)}
    shape = shapes.get(name) or eval(source.split("shape=")[1].split(")")[0] + ")")
    check_parity(source, shape, tmp_path)


def test_embedding_parity(tmp_path):
    source = seq((7,), "layers.Embedding(20, 4)", "layers.GlobalAveragePooling1D()")
    check_parity(source, (7,), tmp_path, vocab=20)


CNN = seq(
    (12, 12, 1),
    "layers.Rescaling(1 / 255)",
    "layers.Conv2D(4, 3, activation='relu', padding='same')",
    "layers.BatchNormalization()",
    "layers.MaxPooling2D()",
    "layers.Conv2D(6, 2, activation='relu')",
    "layers.MaxPooling2D(padding='same')",
    "layers.Flatten()",
    "layers.Dropout(0.5)",
    "layers.Dense(8, activation='relu')",
    "layers.Dense(3, activation='softmax')",
)
TEXT_LSTM = seq(
    (9,),
    "layers.Embedding(30, 6)",
    "layers.LSTM(5, return_sequences=True)",
    "layers.LSTM(4)",
    "layers.Dense(1, activation='sigmoid')",
)
BIGRU = seq(
    (6, 3),
    "layers.Bidirectional(layers.GRU(4, return_sequences=True))",
    "layers.Bidirectional(layers.GRU(3))",
    "layers.Dense(2)",
)
SKIP = """
inputs = keras.Input(shape=(8, 8, 3))
x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
skip = x
y = layers.Conv2D(4, 3, padding="same")(x)
y = layers.BatchNormalization()(y)
x = layers.Add()([layers.Conv2D(4, 1)(skip), y])
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs, outputs)
"""


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_cnn_classifier(fmt, tmp_path):
    text = check_parity(CNN, (12, 12, 1), tmp_path, fmt)
    assert "x.permute(0, 3, 1, 2)" in text and "nn.Linear(54, 8)" in text


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_embedding_lstm_text_model(fmt, tmp_path):
    check_parity(TEXT_LSTM, (9,), tmp_path, fmt, vocab=30)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_bidirectional_gru(fmt, tmp_path):
    check_parity(BIGRU, (6, 3), tmp_path, fmt)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_functional_skip_connection(fmt, tmp_path):
    text = check_parity(SKIP, (8, 8, 3), tmp_path, fmt)
    assert "skip = x" in text


def test_folded_softmax_gives_keras_probabilities(tmp_path):
    compile_line = "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
    text = check_parity(
        CNN + compile_line, (12, 12, 1), tmp_path, post=lambda t: torch.softmax(t, dim=-1)
    )
    assert 'output_activation = "softmax"' in text
    assert "nn.CrossEntropyLoss()" in text
