"""compile/fit/evaluate/predict become a PyTorch loop that trains like Keras.

The same Keras program is run under Keras and, converted, under PyTorch from the same initial
weights; losses, metrics and histories must agree.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

from dlcourse.convert import convert_source, convert_weights, pick_model

keras = pytest.importorskip("keras")

MLP = """
import keras
from keras import layers
model = keras.Sequential([
    keras.Input(shape=(4,)),
    layers.Dense(8, activation="relu"),
    layers.Dropout(0.0),
    layers.Dense({units}, activation={activation!r}),
])
model.compile(optimizer={optimizer}, loss={loss!r}, metrics={metrics!r})
"""
FIT = """
history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
scores = model.evaluate(x, y, verbose=0)
probabilities = model.predict(x[:5], verbose=0)
"""


def data(loss: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(20, 4)).astype("float32")
    if loss == "categorical_crossentropy":
        return x, np.eye(3, dtype="float32")[rng.integers(0, 3, 20)]
    if loss == "binary_crossentropy":
        return x, rng.integers(0, 2, 20).astype("float32")
    if loss in ("mse", "mae"):
        return x, rng.normal(size=20).astype("float32")  # shape (N,) against outputs (N, 1)
    return x, rng.integers(0, 3, 20)


def run_both(source: str, fit: str, x, y, tmp_path) -> tuple[dict, dict, str]:
    """Run ``source + fit`` under Keras and, converted, under PyTorch from the same weights."""
    keras.utils.set_random_seed(0)
    ran: dict = {"x": x, "y": y}
    exec(source, ran)
    ran["model"].save(tmp_path / "start.keras")
    exec(fit, ran)
    conversion = convert_source(source + fit, "train.py")
    assert not conversion.report.left, conversion.report.to_text()
    state = convert_weights(pick_model(conversion, None), tmp_path / "start.keras")
    code = conversion.text.replace(
        "model = create_model()", "model = create_model()\nmodel.load_state_dict(STATE)"
    )
    converted: dict = {"x": x, "y": y, "STATE": state}
    exec(code, converted)
    return ran, converted, conversion.text


CASES = [
    ("sparse_categorical_crossentropy", 3, "softmax", ["accuracy"]),
    ("categorical_crossentropy", 3, "softmax", ["accuracy"]),
    ("binary_crossentropy", 1, "sigmoid", ["accuracy"]),
    ("mse", 1, "linear", ["mae"]),
    ("mae", 1, "linear", []),
]


@pytest.mark.parametrize(("loss", "units", "activation", "metrics"), CASES)
def test_sgd_training_matches_keras(loss, units, activation, metrics, tmp_path):
    """SGD with momentum is the same algorithm in both: the histories agree closely."""
    x, y = data(loss, np.random.default_rng(1))
    optimizer = "keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)"
    source = MLP.format(
        units=units, activation=activation, optimizer=optimizer, loss=loss, metrics=metrics
    )
    ran, converted, _ = run_both(source, FIT, x, y, tmp_path)
    expected, got = ran["history"].history, converted["history"]
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(converted["scores"], ran["scores"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(converted["probabilities"], ran["probabilities"], atol=1e-5)


@pytest.mark.parametrize(
    "optimizer",
    [
        "'adam'",
        "'rmsprop'",
        "'adagrad'",
        "keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8)",
        "keras.optimizers.RMSprop(0.01, rho=0.8, momentum=0.5)",
        "keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)",
    ],
)
def test_optimizers_reproduce_keras_defaults(optimizer, tmp_path):
    """Epsilon sits in a slightly different place in PyTorch's formulas: close, not equal."""
    x, y = data("sparse_categorical_crossentropy", np.random.default_rng(2))
    source = MLP.format(
        units=3,
        activation="softmax",
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=[],
    )
    fit = "history = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)\n"
    ran, converted, _ = run_both(source, fit, x, y, tmp_path)
    np.testing.assert_allclose(
        converted["history"]["loss"], ran["history"].history["loss"], rtol=2e-3
    )


def test_optimizer_options_are_spelled_out():
    source = (
        MLP.format(units=3, activation="softmax", optimizer="'rmsprop'", loss="mse", metrics=[])
        + "opt = keras.optimizers.Adagrad()\nmodel.compile(optimizer=opt, loss='mse')\n"
    )
    conversion = convert_source(source)
    assert "torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-07)" in (
        conversion.text
    )
    assert (
        "torch.optim.Adagrad(model.parameters(), lr=0.001, initial_accumulator_value=0.1, "
        "eps=1e-07)" in conversion.text
    )
    assert "# Keras: opt = keras.optimizers.Adagrad() (made in compile below)" in conversion.text


def test_final_sigmoid_is_folded_into_bce_with_logits(tmp_path):
    x, y = data("binary_crossentropy", np.random.default_rng(3))
    source = MLP.format(
        units=1,
        activation="sigmoid",
        optimizer="'sgd'",
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    _, converted, text = run_both(source, FIT, x, y, tmp_path)
    assert "nn.BCEWithLogitsLoss()" in text and 'output_activation = "sigmoid"' in text
    assert converted["probabilities"].min() >= 0 and converted["probabilities"].max() <= 1


CALLBACKS = """
stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
save = keras.callbacks.ModelCheckpoint(PATH + "/best.keras", monitor="loss", save_best_only=True)
history = model.fit(x, y, epochs=10, verbose=0, callbacks=[stop, save])
"""


def test_early_stopping_and_checkpoint_behave_like_keras(tmp_path):
    """With a zero learning rate the loss never improves: both stop after the same epoch."""
    x, y = data("mse", np.random.default_rng(4))
    source = MLP.format(
        units=1,
        activation="linear",
        optimizer="keras.optimizers.SGD(learning_rate=0.0)",
        loss="mse",
        metrics=[],
    )
    fit = f"PATH = {str(tmp_path)!r}\n" + CALLBACKS
    ran, converted, text = run_both(source, fit, x, y, tmp_path)
    assert len(converted["history"]["loss"]) == len(ran["history"].history["loss"]) < 10
    assert (tmp_path / "best.pt").is_file() and '/best.pt"' in text.replace("'", '"')
    torch.load(tmp_path / "best.pt")


def test_validation_split_holds_out_the_last_samples(tmp_path):
    x, y = data("mse", np.random.default_rng(5))
    source = MLP.format(units=1, activation="linear", optimizer="'adam'", loss="mse", metrics=[])
    fit = "history = model.fit(x, y, epochs=1, validation_split=0.25, verbose=0)\n"
    fit += "held_out = model.evaluate(x[15:], y[15:], verbose=0)\n"
    _, converted, _ = run_both(source, fit, x, y, tmp_path)
    assert converted["history"]["val_loss"][0] == pytest.approx(converted["held_out"])


LR_CALLBACKS = """
schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.1, patience=1, min_delta=10.0)
history = model.fit(x, y, epochs=4, verbose=0, callbacks=[schedule, plateau])
"""


def test_learning_rate_callbacks_change_the_optimizer_fit_is_given(tmp_path):
    """The callbacks reach the optimizer through fit (Keras: self.model.optimizer)."""
    x, y = data("mse", np.random.default_rng(6))
    source = MLP.format(units=1, activation="linear", optimizer="'sgd'", loss="mse", metrics=[])
    ran, converted, text = run_both(source, LR_CALLBACKS, x, y, tmp_path)
    assert "fit(model, loss_fn, optimizer, x, y" in text
    expected = float(keras.ops.convert_to_numpy(ran["model"].optimizer.learning_rate))
    lr = converted["optimizer"].param_groups[0]["lr"]
    assert lr == pytest.approx(expected, rel=1e-5) and lr < 0.01 * 0.5**4
