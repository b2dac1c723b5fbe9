"""``fit``'s options for the later notebooks: schedulers, any batches, clipping, AMP, callbacks."""

from __future__ import annotations

import math

import pytest
import torch
from test_train import blobs, same_weights, small_net
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlcourse.config import seed_everything
from dlcourse.train import EarlyStopping, History, TensorBatches, evaluate, fit
from dlcourse.train.history import better_direction


def run(train, epochs=2, val=None, net=small_net, **kwargs):
    seed_everything(0)
    model = net()
    optimizer = kwargs.pop("optimizer", None) or torch.optim.SGD(model.parameters(), lr=0.05)
    history = fit(
        model,
        train,
        epochs=epochs,
        optimizer=optimizer,
        loss_fn=nn.CrossEntropyLoss(),
        val=val,
        metrics=["accuracy"],
        **({"progress": False, "verbose": False} | kwargs),
    )
    return model, history


# --- early stopping: the Keras rule -------------------------------------------------------


def stop_epoch(losses, patience, rule):
    """The epoch after which training stops under ``rule`` (Keras: wait >= patience)."""
    best, wait = math.inf, 0
    for epoch, loss in enumerate(losses, start=1):
        if loss < best:
            best, wait = loss, 0
        else:
            wait += 1
            if rule(wait, patience):
                return epoch
    return len(losses)


class Replay:
    """A callback that feeds fixed validation losses to an EarlyStopping."""

    def __init__(self, stopper, losses):
        self.stopper, self.losses = stopper, losses

    def on_epoch_end(self, epoch, record, model):
        return self.stopper.step(epoch, {"val_loss": self.losses[epoch - 1]}, model)


def test_early_stopping_stops_when_keras_does():
    losses = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
    keras = stop_epoch(losses, 2, lambda wait, patience: wait >= patience)
    old = stop_epoch(losses, 2, lambda wait, patience: wait > patience)
    assert (keras, old) == (3, 4)  # the example: Keras stops after epoch 3
    x, y = blobs()
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    replay = Replay(stopper, losses)
    _, history = run(TensorBatches(x, y, batch_size=64), epochs=6, callbacks=[replay])
    assert len(history) == keras and history.stopped_early


def test_early_stopping_never_takes_nan_for_an_improvement():
    stopper = EarlyStopping(patience=2)
    model = small_net()
    assert not stopper.step(1, {"val_loss": 1.0}, model)
    assert not stopper.step(2, {"val_loss": math.nan}, model)
    assert stopper.best == 1.0 and stopper.best_epoch == 1
    assert stopper.step(3, {"val_loss": math.nan}, model)
    first = EarlyStopping(patience=1)
    first.step(1, {"val_loss": math.nan}, model)
    assert first.best_epoch is None
    first.step(2, {"val_loss": 0.5}, model)
    assert first.best_epoch == 2


# --- History.best in both directions ----------------------------------------------------------


def test_history_best_takes_the_direction_from_the_name_or_mode():
    history = History(
        records=[
            {"epoch": 1, "val_loss": 0.9, "val_accuracy": 0.6},
            {"epoch": 2, "val_loss": 0.5, "val_accuracy": 0.7},
            {"epoch": 3, "val_loss": 0.7, "val_accuracy": 0.8},
        ]
    )
    assert history.best("val_loss")["epoch"] == 2
    assert history.best("val_accuracy")["epoch"] == 3
    assert history.best("val_accuracy", mode="min")["epoch"] == 1
    assert history.best("val_loss", mode="max")["epoch"] == 1
    assert [better_direction(k) for k in ("val_r2", "train_mae", "val_dice", "loss")] == [
        "max",
        "min",
        "max",
        "min",
    ]
    with pytest.raises(ValueError, match="mode"):
        history.best("val_loss", mode="up")
    history.records[1]["val_loss"] = math.nan
    assert history.best("val_loss")["epoch"] == 3


# --- schedulers ---------------------------------------------------------------------------------


def test_one_cycle_is_stepped_after_every_batch():
    x, y = blobs()
    seed_everything(0)
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = TensorBatches(x, y, batch_size=40)  # 10 batches per epoch
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=30)
    history = fit(
        model,
        batches,
        epochs=3,
        optimizer=optimizer,
        loss_fn=nn.CrossEntropyLoss(),
        scheduler=scheduler,
        scheduler_step="batch",
        progress=False,
        verbose=False,
    )
    assert scheduler.last_epoch == 30  # one step per optimizer step, none per epoch
    reference = torch.optim.lr_scheduler.OneCycleLR(
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1), max_lr=0.5, total_steps=30
    )
    rates = []
    for _ in range(30):
        rates.append(reference.get_last_lr()[0])
        reference.optimizer.step()
        reference.step()
    assert history["lr"] == pytest.approx([rates[0], rates[10], rates[20]])


def test_the_scheduler_step_must_be_said():
    x, y = blobs()
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    with pytest.raises(ValueError, match="scheduler_step must be 'batch' or 'epoch'"):
        fit(
            model,
            TensorBatches(x, y),
            epochs=1,
            optimizer=optimizer,
            loss_fn=nn.CrossEntropyLoss(),
            scheduler=scheduler,
        )


def test_plateau_needs_validation_data():
    x, y = blobs()
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(
            model,
            TensorBatches(x, y),
            epochs=1,
            optimizer=optimizer,
            loss_fn=nn.CrossEntropyLoss(),
            scheduler=plateau,
            scheduler_step="epoch",
        )
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(
            model,
            TensorBatches(x, y),
            epochs=1,
            optimizer=optimizer,
            val=(x, y),
            loss_fn=nn.CrossEntropyLoss(),
            scheduler=plateau,
            scheduler_step="batch",
        )
    history = fit(
        model,
        TensorBatches(x, y),
        epochs=4,
        optimizer=optimizer,
        val=(x, y),
        loss_fn=nn.CrossEntropyLoss(),
        scheduler=plateau,
        scheduler_step="epoch",
        progress=False,
        verbose=False,
    )
    assert len(history["lr"]) == 4 and history["lr"][0] == 0.1


# --- any iterable of batches ---------------------------------------------------------------


def no_dropout_net():
    # A DataLoader draws from the global generator on every pass, which moves dropout masks.
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


def test_a_dataloader_or_a_list_of_batches_trains_like_tensor_batches():
    x, y = blobs()
    reference, ref_history = run(TensorBatches(x, y, batch_size=50), val=(x, y), net=no_dropout_net)
    loader = DataLoader(TensorDataset(x, y), batch_size=50)
    val_loader = DataLoader(TensorDataset(x, y), batch_size=70)
    from_loader, loader_history = run(loader, val=val_loader, net=no_dropout_net)
    as_list = [(x[i : i + 50], y[i : i + 50]) for i in range(0, 400, 50)]
    from_list, _ = run(as_list, val=as_list, net=no_dropout_net)
    assert same_weights(reference, from_loader) and same_weights(reference, from_list)
    assert loader_history["val_accuracy"] == pytest.approx(ref_history["val_accuracy"])


def test_checkpoints_need_batches_whose_order_can_be_saved(tmp_path):
    x, y = blobs()
    shuffled = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True)
    with pytest.raises(TypeError, match="generator=torch.Generator"):
        run(shuffled, checkpoint=tmp_path / "c.pt")
    seeded = DataLoader(
        TensorDataset(x, y), batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(1)
    )
    run(seeded, checkpoint=tmp_path / "c.pt")
    assert (tmp_path / "c.pt").exists()
    run(shuffled)  # without a checkpoint, any batches do


def test_a_batch_that_is_not_a_tuple_is_a_clear_error():
    x, _ = blobs()
    with pytest.raises(TypeError, match=r"tuple \(inputs..., target\)"):
        run([x[:10], x[10:20]])


def test_empty_validation_is_refused_before_training():
    x, y = blobs()
    calls = []

    class Counting(nn.CrossEntropyLoss):
        def forward(self, output, target):
            calls.append(1)
            return super().forward(output, target)

    model = small_net()
    with pytest.raises(ValueError, match="validation data is empty"):
        fit(
            model,
            TensorBatches(x, y),
            epochs=1,
            loss_fn=Counting(),
            val=(x[:0], y[:0]),
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        )
    assert calls == []


# --- clipping, precision, callbacks ---------------------------------------------------------


def test_gradient_clipping_bounds_the_update():
    x, y = blobs()
    x = x * 1000  # huge gradients
    seed_everything(0)
    model = nn.Linear(2, 2)
    before = [p.detach().clone() for p in model.parameters()]
    fit(
        model,
        TensorBatches(x, y, batch_size=400),
        epochs=1,
        clip_grad_norm=0.01,
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
        loss_fn=nn.CrossEntropyLoss(),
        progress=False,
        verbose=False,
    )
    pairs = zip(model.parameters(), before, strict=True)
    step = torch.cat([(p.detach() - b).flatten() for p, b in pairs])
    assert float(step.norm()) == pytest.approx(0.01, rel=1e-3)


def test_amp_on_the_cpu_is_a_noop_with_a_notice(capsys):
    x, y = blobs()
    plain, _ = run(TensorBatches(x, y, batch_size=50))
    mixed, history = run(TensorBatches(x, y, batch_size=50), amp=True, verbose=True)
    assert "amp=True has no effect on cpu" in capsys.readouterr().out
    assert history.precision == "float32"
    assert same_weights(plain, mixed)


def test_channels_last_trains_an_image_model():
    seed_everything(0)
    images = torch.randn(64, 3, 8, 8)
    labels = (images[:, 0].mean(dim=(1, 2)) > 0).long()
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))
    history = fit(
        model,
        TensorBatches(images, labels, batch_size=16),
        epochs=2,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        loss_fn=nn.CrossEntropyLoss(),
        channels_last=True,
        progress=False,
        verbose=False,
    )
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert len(history) == 2


def test_a_callback_sees_every_epoch_and_can_stop(capsys):
    x, y = blobs()
    seen = []

    class StopAtTwo:
        def on_epoch_end(self, epoch, record, model):
            seen.append((epoch, sorted(record)))
            return epoch == 2

    _, history = run(
        TensorBatches(x, y), epochs=5, val=(x, y), callbacks=[StopAtTwo()], verbose=True
    )
    assert [e for e, _ in seen] == [1, 2] and len(history) == 2 and history.stopped_early
    assert "val_accuracy" in seen[0][1]
    assert "Stopped after epoch 2 by StopAtTwo" in capsys.readouterr().out
    with pytest.raises(TypeError, match="on_epoch_end"):
        run(TensorBatches(x, y), callbacks=[object()])


def test_evaluate_accepts_a_dataloader():
    x, y = blobs()
    model = small_net()
    a = evaluate(model, (x, y), nn.CrossEntropyLoss(), ["accuracy"])
    b = evaluate(
        model, DataLoader(TensorDataset(x, y), batch_size=33), nn.CrossEntropyLoss(), ["accuracy"]
    )
    assert a == pytest.approx(b)
