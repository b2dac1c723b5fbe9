"""Notebook 04/00 writes its network, the L1/L2 penalty, the training loop and the early-stopping
watch in its cells (no library copy). These tests run the cells' definitions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from test_notebook_code import definition
from torch import nn

from dlcourse.augment import BatchAugment
from dlcourse.autocast import Autocast

REGULARIZATION_04_00 = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/04_Regularization/00_cifar10_regularization.ipynb"
)
NAMES = (
    "SmallCNN",
    "kernel_weights",
    "penalty",
    "train_one_epoch",
    "evaluate",
    "EarlyStoppingWatch",
    "Variant",
    "Schedule",
)


@pytest.fixture(scope="module")
def cells() -> dict:
    """The notebook's definitions, executed in one namespace with small data."""
    torch.manual_seed(0)
    namespace = {
        "__name__": __name__,
        "copy": __import__("copy"),
        "math": math,
        "torch": torch,
        "nn": nn,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "BATCH_SIZE": 64,
        "x_train": torch.randn(16, 3, 32, 32),
        "y_train": (torch.arange(16) % 2).float(),
        "x_val": torch.randn(8, 3, 32, 32),
        "y_val": (torch.arange(8) % 2).float(),
        "device": torch.device("cpu"),
        "Autocast": Autocast,
        "BatchAugment": BatchAugment,
    }
    for name in NAMES:
        exec(definition(REGULARIZATION_04_00, name), namespace)
    for name in ("Variant", "Schedule"):  # definition() leaves out the @dataclass line
        namespace[name] = dataclass(frozen=True)(namespace[name])
    namespace["CONSTANT"] = namespace["Schedule"]("constant 0.01", 3)
    exec(definition(REGULARIZATION_04_00, "train_variant"), namespace)
    return namespace


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_small_cnn_has_keras_parameter_count_and_one_logit(cells):
    small_cnn = cells["SmallCNN"]
    assert count(small_cnn()) == 1_616_289  # Keras's summary of the original
    model = small_cnn(dropout=0.5, batch_norm=True)
    assert model(torch.randn(4, 3, 32, 32)).shape == (4,)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2


def test_dropout_is_inactive_in_eval_mode(cells):
    model, x = cells["SmallCNN"](dropout=0.5), torch.randn(8, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_penalty_covers_kernels_only_and_has_keras_gradients(cells):
    weights = cells["kernel_weights"](cells["SmallCNN"](batch_norm=True))
    assert len(weights) == 4 and all(w.ndim > 1 for w in weights)  # no biases, no batch norm
    w = nn.Parameter(torch.tensor([[-2.0, -0.5], [0.3, 4.0]]))
    cells["penalty"]([w], l1=0.1).backward()
    assert torch.allclose(w.grad, 0.1 * torch.sign(w.detach()))
    w.grad = None
    cells["penalty"]([w], l2=0.1).backward()
    assert torch.allclose(w.grad, 0.2 * w.detach())  # l2(λ) is λ·sum(w²): gradient 2λw


def step_once(cells, l1: float) -> tuple[nn.Module, float]:
    """One epoch (one batch of 16) of plain SGD at lr 0.1 from the same start."""
    torch.manual_seed(1)
    model = cells["SmallCNN"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(0)
    loss, _ = cells["train_one_epoch"](model, optimizer, l1, 0.0, generator)
    return model, loss


def test_penalty_is_trained_on_but_not_reported(cells):
    plain, plain_loss = step_once(cells, l1=0.0)
    with_l1, l1_loss = step_once(cells, l1=0.01)
    assert l1_loss == pytest.approx(plain_loss)  # the reported loss is the data loss
    torch.manual_seed(1)
    start = cells["SmallCNN"]()
    for name, w0 in start.named_parameters():
        moved = dict(plain.named_parameters())[name] - dict(with_l1.named_parameters())[name]
        expected = 0.1 * 0.01 * torch.sign(w0.detach()) if w0.ndim > 1 else torch.zeros_like(w0)
        assert torch.allclose(moved.detach(), expected, atol=1e-6), name


def test_early_stopping_watch_follows_keras_rule(cells):
    watch, net = cells["EarlyStoppingWatch"](patience=5), nn.Linear(1, 1)
    losses = [0.9, 0.7, 0.6, 0.65, 0.62, 0.61, 0.63, 0.64, 0.5, 0.7]
    for epoch, loss in enumerate(losses, start=1):
        with torch.no_grad():
            net.weight.fill_(epoch)
        watch.update(epoch, loss, net)
    # Keras: best at epoch 3, five epochs without improvement -> stops after epoch 8
    assert watch.stop_epoch == 8
    assert watch.best_epoch == 9 and watch.best_state["weight"].item() == 9  # it trains on


def test_extra_seeds_score_the_validation_split_after_the_last_epoch_only(cells):
    variant = cells["Variant"](
        "combined", weight_decay=5e-4, dropout=0.5, batch_norm=True, augment=True
    )
    _, full = cells["train_variant"](variant, seed=1)
    _, last = cells["train_variant"](variant, seed=1, curves=False)
    assert all(not math.isnan(v) for v in full["val_accuracy"])
    assert all(math.isnan(v) for v in last["val_accuracy"][:-1])
    assert last["val_accuracy"][-1] == full["val_accuracy"][-1]  # the same training
    assert last["train_loss"] == full["train_loss"]
