"""The training engine: learning, early stopping, checkpoints and resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.config import seed_everything
from dlcourse.train import (
    EarlyStopping,
    TensorBatches,
    evaluate,
    fit,
    load_model,
    predict,
    save_model,
)


def blobs(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian blobs in 2-D: an easy, learnable classification problem."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + (y.float() * 4 - 2).unsqueeze(1)
    return x, y


def small_net() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


def train_run(epochs: int, checkpoint=None, seed: int = 0, **kwargs) -> tuple[nn.Module, object]:
    seed_everything(seed)
    x, y = blobs()
    model = small_net()
    history = fit(
        model,
        TensorBatches(x, y, batch_size=32, shuffle=True, seed=seed),
        epochs=epochs,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        loss_fn=nn.CrossEntropyLoss(),
        val=(x[:100], y[:100]),
        metrics=["accuracy"],
        scheduler=None,
        checkpoint=checkpoint,
        progress=False,
        **kwargs,
    )
    return model, history


def test_batches_cover_every_sample_once_per_epoch():
    x = torch.arange(10)
    batches = TensorBatches(x, x * 2, batch_size=3, shuffle=True, seed=1)
    assert len(batches) == 4
    seen = torch.cat([xb for xb, _ in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert all(torch.equal(yb, xb * 2) for xb, yb in batches)
    assert len(TensorBatches(x, batch_size=3, drop_last=True)) == 3


def test_batches_reject_misaligned_tensors():
    with pytest.raises(ValueError, match="same first dimension"):
        TensorBatches(torch.zeros(3), torch.zeros(4))


def test_loss_falls_and_accuracy_rises():
    model, history = train_run(epochs=5)
    assert history["train_loss"][-1] < history["train_loss"][0] / 2
    assert history["val_accuracy"][-1] > 0.95
    x, y = blobs(seed=1)
    result = evaluate(model, (x, y), nn.CrossEntropyLoss(), ["accuracy"])
    assert result["accuracy"] > 0.95 and result["loss"] < 0.3
    assert predict(model, x).shape == (400, 2)


def test_regression_metrics_are_sample_means():
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.0)
    x = torch.tensor([[0.0], [1.0], [2.0]])
    y = torch.tensor([[1.0], [1.0], [4.0]])
    result = evaluate(model, TensorBatches(x, y, batch_size=2), nn.MSELoss(), ["mae", "mse"])
    assert result["mae"] == pytest.approx((1 + 0 + 2) / 3)
    assert result["mse"] == pytest.approx((1 + 0 + 4) / 3)
    assert result["loss"] == pytest.approx(result["mse"])


def test_early_stopping_restores_the_best_epoch():
    seed_everything(0)
    x, y = blobs()
    model = small_net()
    # A learning rate far too high makes validation loss blow up after a few epochs.
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = fit(
        model,
        TensorBatches(x, y, batch_size=32, shuffle=True),
        epochs=50,
        optimizer=torch.optim.SGD(model.parameters(), lr=3.0),
        loss_fn=nn.CrossEntropyLoss(),
        val=(x, y),
        early_stopping=stopper,
        progress=False,
    )
    assert history.stopped_early and len(history) < 50
    best = min(range(len(history)), key=lambda i: history["val_loss"][i])
    assert history.best_epoch == best + 1 == stopper.best_epoch
    restored = evaluate(model, (x, y), nn.CrossEntropyLoss())["loss"]
    assert restored == pytest.approx(history["val_loss"][best], rel=1e-5)
    assert restored < history["val_loss"][-1]


def test_early_stopping_names_a_missing_quantity():
    x, y = blobs()
    model = small_net()
    with pytest.raises(KeyError, match="val_loss"):
        fit(
            model,
            TensorBatches(x, y),
            epochs=2,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            loss_fn=nn.CrossEntropyLoss(),
            early_stopping=EarlyStopping(),
            progress=False,
        )


class Interrupt(Exception):
    pass


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path):
    straight, straight_history = train_run(epochs=6)

    ckpt = tmp_path / "run.pt"
    calls = {"n": 0}
    stop_after = 3 * 13 + 5  # 13 batches per epoch: interrupt in the middle of epoch 4

    class Exploding(nn.CrossEntropyLoss):
        def forward(self, output, target):
            calls["n"] += 1
            if calls["n"] > stop_after:
                raise Interrupt
            return super().forward(output, target)

    seed_everything(0)
    x, y = blobs()
    model = small_net()
    with pytest.raises(Interrupt):
        fit(
            model,
            TensorBatches(x, y, batch_size=32, shuffle=True, seed=0),
            epochs=6,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
            loss_fn=Exploding(),
            val=(x[:100], y[:100]),
            metrics=["accuracy"],
            checkpoint=ckpt,
            progress=False,
        )
    # A fresh process would start from new objects and another RNG state.
    torch.manual_seed(1234)
    resumed, resumed_history = train_run(epochs=6, checkpoint=ckpt, seed=99)

    assert [r["epoch"] for r in resumed_history.records] == list(range(1, 7))
    assert same_weights(straight, resumed)
    assert resumed_history["train_loss"] == straight_history["train_loss"]


def test_finished_checkpoint_is_not_trained_again(tmp_path):
    ckpt = tmp_path / "done.pt"
    first, _ = train_run(epochs=2, checkpoint=ckpt)
    again, history = train_run(epochs=2, checkpoint=ckpt, seed=5)
    assert len(history) == 2
    assert same_weights(first, again)


def test_scheduler_steps_each_epoch():
    x, y = blobs()
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        TensorBatches(x, y, batch_size=64),
        epochs=3,
        optimizer=optimizer,
        loss_fn=nn.CrossEntropyLoss(),
        scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5),
        scheduler_step="epoch",
        progress=False,
    )
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_save_and_load_model_with_metadata(tmp_path):
    model = small_net()
    path = save_model(tmp_path / "m.pt", model, input_size=2, classes=["a", "b"])
    other = small_net()
    meta = load_model(path, other)
    assert meta == {"input_size": 2, "classes": ["a", "b"]}
    assert same_weights(model, other)


def test_loading_a_missing_or_corrupt_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="train the model first"):
        load_model(tmp_path / "nope.pt", small_net())
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_model(bad, small_net())


def test_verbose_false_prints_nothing(capsys):
    train_run(epochs=3, verbose=False)
    assert capsys.readouterr().out == ""
    train_run(epochs=3)
    assert "epoch 3/3" in capsys.readouterr().out
