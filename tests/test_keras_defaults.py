"""The Keras facts of notebook 00's "Keras vs PyTorch defaults" cells, checked against Keras.

Keras 3 runs here on its PyTorch backend; the rules tested (row split, optimizer updates,
initialisers, early stopping) are the same code on every backend.
"""

import math
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.keras_defaults import (
    adam_first_step,
    keras_embedding_init_,
    keras_init_,
    rmsprop_first_step,
    validation_split,
)
from dlcourse.train import EarlyStopping

keras = pytest.importorskip("keras")
GRADS = np.array([1e-1, 1e-3, 1e-5, -2e-4], dtype="float32")


@pytest.mark.parametrize(("n", "split"), [(404, 0.2), (10_000, 0.1), (60_000, 0.1), (7, 0.3)])
def test_validation_split_rows_match_keras(n, split):
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    train, val = train_validation_split(np.arange(n), validation_split=split)
    assert validation_split(n, split) == (len(train), len(val))
    assert val[0] == len(train)  # Keras validates on the last rows


def test_validation_split_boston_is_323_and_81():
    assert validation_split(404, 0.2) == (323, 81)  # not 404 // 5 = 80 validation rows


def test_validation_split_refuses_empty_parts():
    with pytest.raises(ValueError, match="between 0 and 1"):
        validation_split(10, 1.0)
    with pytest.raises(ValueError, match="empty"):
        validation_split(1, 0.5)


def keras_step(optimizer, grad: np.ndarray) -> np.ndarray:
    var = keras.Variable(np.zeros_like(grad))
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad), var)])
    return -keras.ops.convert_to_numpy(var)


def torch_step(make_optimizer, grad: np.ndarray) -> np.ndarray:
    param = torch.zeros(len(grad), requires_grad=True)
    param.grad = torch.tensor(grad)
    make_optimizer([param]).step()
    return -param.detach().numpy()


def test_adam_first_step_matches_both_libraries():
    ours = adam_first_step(torch.tensor(GRADS), lr=1e-3, eps=1e-7)
    keras_adam = keras.optimizers.Adam(learning_rate=1e-3)  # Keras's epsilon: 1e-7
    assert keras_adam.epsilon == 1e-7
    np.testing.assert_allclose(ours["keras"], keras_step(keras_adam, GRADS), rtol=1e-5)
    pytorch = torch_step(lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7), GRADS)
    np.testing.assert_allclose(ours["pytorch"], pytorch, rtol=1e-5)
    # the same eps=1e-7 does not give the same step for small gradients
    assert abs(ours["keras"][2] - ours["pytorch"][2]) > 0.1 * abs(ours["pytorch"][2])


def test_rmsprop_first_step_matches_both_libraries():
    ours = rmsprop_first_step(torch.tensor(GRADS), lr=1e-3, rho=0.9, eps=1e-7)
    keras_rms = keras.optimizers.RMSprop(learning_rate=1e-3)  # rho 0.9, epsilon 1e-7
    assert (keras_rms.rho, keras_rms.epsilon) == (0.9, 1e-7)
    np.testing.assert_allclose(ours["keras"], keras_step(keras_rms, GRADS), rtol=1e-5)
    pytorch = torch_step(lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7), GRADS)
    np.testing.assert_allclose(ours["pytorch"], pytorch, rtol=1e-5)
    assert ours["pytorch"][2] > 50 * ours["keras"][2]  # gradient 1e-5: ~100x apart


def test_keras_init_is_glorot_uniform_with_zero_bias():
    layer = keras_init_(nn.Sequential(nn.Linear(784, 128)))[0]
    bound = math.sqrt(6 / (784 + 128))  # keras.initializers.GlorotUniform
    assert layer.weight.abs().max() <= bound
    assert layer.weight.abs().max() > 0.95 * bound
    assert torch.all(layer.bias == 0)
    dense = keras.layers.Dense(128)
    dense.build((None, 784))
    assert np.all(keras.ops.convert_to_numpy(dense.bias) == 0)
    assert np.abs(keras.ops.convert_to_numpy(dense.kernel)).max() <= bound


def test_keras_embedding_start_is_uniform_005_and_keeps_the_padding_row_zero():
    config = keras.layers.Embedding(100, 8).embeddings_initializer.get_config()
    assert (config["minval"], config["maxval"]) == (-0.05, 0.05)
    torch.manual_seed(0)
    assert nn.Embedding(1000, 16).weight.abs().mean() > 0.7  # PyTorch's N(0, 1)
    layer = keras_embedding_init_(nn.Embedding(1000, 16, padding_idx=0))
    assert 0.045 < layer.weight.abs().max() <= 0.05
    assert torch.all(layer.weight[0] == 0)
    bag = keras_init_(nn.Sequential(nn.EmbeddingBag(50, 4, padding_idx=3)))[0]
    assert bag.weight.abs().max() <= 0.05 and torch.all(bag.weight[3] == 0)


def test_pytorch_linear_default_is_uniform_one_over_sqrt_fan_in():
    torch.manual_seed(0)
    layer = nn.Linear(1, 64)  # fan_in 1: weights and biases in U(-1, 1), biases not small
    assert layer.weight.abs().max() <= 1 and layer.bias.abs().max() <= 1
    assert layer.bias.abs().mean() > 0.3
    wide = nn.Linear(784, 128)
    assert wide.weight.abs().max() <= 1 / math.sqrt(784)
    assert wide.weight.abs().max() > 0.99 / math.sqrt(784)


def test_keras_defaults_of_early_stopping_and_crossentropy():
    stop = keras.callbacks.EarlyStopping()
    assert (stop.patience, stop.restore_best_weights) == (0, False)
    loss = keras.losses.SparseCategoricalCrossentropy()
    assert loss.from_logits is False


class _Model:
    stop_training = False


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_early_stopping_stops_at_the_keras_epoch(patience):
    losses = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7, 0.9, 0.91, 0.92, 0.93]
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    cb.set_model(_Model())
    cb.on_train_begin()
    keras_stop = None
    for epoch, value in enumerate(losses):
        cb.on_epoch_end(epoch, {"val_loss": value})
        if cb.model.stop_training:
            keras_stop = epoch + 1
            break
    ours = EarlyStopping(monitor="val_loss", patience=patience, restore_best=False)
    model = nn.Linear(1, 1)
    our_stop = next(
        (e for e, v in enumerate(losses, 1) if ours.step(e, {"val_loss": v}, model)), None
    )
    assert our_stop == keras_stop


def test_keras_rmsprop_follows_keras_over_several_steps():
    from dlcourse.keras_defaults import KerasRMSprop

    rng = np.random.default_rng(0)
    grads = [rng.normal(0, s, 5).astype("float32") for s in (1e-1, 1e-3, 1e-5, 1e-2)]
    var = keras.Variable(np.zeros(5, dtype="float32"))
    keras_rms = keras.optimizers.RMSprop(learning_rate=1e-3)
    param = torch.zeros(5, requires_grad=True)
    ours = KerasRMSprop([param], lr=1e-3)
    for g in grads:
        keras_rms.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        param.grad = torch.tensor(g)
        ours.step()
    np.testing.assert_allclose(
        param.detach().numpy(), keras.ops.convert_to_numpy(var), rtol=1e-5, atol=1e-9
    )


def test_keras_rmsprop_refuses_bad_settings():
    from dlcourse.keras_defaults import KerasRMSprop

    with pytest.raises(ValueError, match="rho"):
        KerasRMSprop([torch.zeros(1, requires_grad=True)], rho=1.0)


def test_keras_adam_follows_keras_over_several_steps():
    from dlcourse.keras_defaults import KerasAdam

    rng = np.random.default_rng(0)
    grads = [rng.normal(0, s, 5).astype("float32") for s in (1e-1, 1e-3, 1e-5, 1e-2, 1e-6)]
    var = keras.Variable(np.zeros(5, dtype="float32"))
    keras_adam = keras.optimizers.Adam(learning_rate=1e-3)
    param = torch.zeros(5, requires_grad=True)
    ours = KerasAdam([param], lr=1e-3)
    plain = torch.zeros(5, requires_grad=True)
    torch_adam = torch.optim.Adam([plain], lr=1e-3, eps=1e-7)
    for g in grads:
        keras_adam.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        param.grad, plain.grad = torch.tensor(g), torch.tensor(g)
        ours.step()
        torch_adam.step()
    keras_value = keras.ops.convert_to_numpy(var)
    np.testing.assert_allclose(param.detach().numpy(), keras_value, rtol=1e-5, atol=1e-9)
    assert not np.allclose(plain.detach().numpy(), keras_value, rtol=1e-5, atol=1e-9)


def test_keras_adam_refuses_bad_settings():
    from dlcourse.keras_defaults import KerasAdam

    with pytest.raises(ValueError, match="betas"):
        KerasAdam([torch.zeros(1, requires_grad=True)], betas=(0.9, 1.0))
