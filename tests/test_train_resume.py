"""Checkpoints that belong to their run, every random generator restored, NaN caught."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest
import torch
from test_train import Interrupt, blobs, same_weights, small_net
from torch import nn

from dlcourse.config import seed_everything
from dlcourse.train import EarlyStopping, NonFiniteLossError, TensorBatches, fit
from dlcourse.train import resume as resume_mod


def train(epochs, checkpoint=None, lr=0.05, n=400, batch_size=32, transform=None, **kwargs):
    seed_everything(0)
    x, y = blobs(n)
    model = small_net()
    history = fit(
        model,
        TensorBatches(x, y, batch_size=batch_size, shuffle=True, transform=transform),
        epochs=epochs,
        optimizer=torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9),
        loss_fn=kwargs.pop("loss_fn", nn.CrossEntropyLoss()),
        val=(x[:100], y[:100]),
        checkpoint=checkpoint,
        progress=False,
        **kwargs,
    )
    return model, history


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"lr": 0.5}, "param_groups"),
        ({"n": 300}, "train_samples"),
        ({"batch_size": 64}, "batch_size"),
        ({"epochs": 2}, "epochs=2 but the checkpoint has trained 3"),
    ],
)
def test_a_checkpoint_of_another_run_is_refused(tmp_path, change, named):
    ckpt = tmp_path / "run.pt"
    train(3, ckpt)
    args = {"epochs": 3} | change
    with pytest.raises(ValueError, match="different run") as err:
        train(checkpoint=ckpt, **args)
    assert named in str(err.value) and "resume=False" in str(err.value)
    model, history = train(checkpoint=ckpt, resume=False, **args)  # starting fresh works
    assert len(history) == args["epochs"]


def test_another_model_is_named_in_the_refusal(tmp_path):
    ckpt = tmp_path / "run.pt"
    train(1, ckpt)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"0.weight \[16, 2\] -> \[8, 2\]"):
        fit(
            model,
            TensorBatches(x, y, batch_size=32, shuffle=True),
            epochs=3,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
            loss_fn=nn.CrossEntropyLoss(),
            checkpoint=ckpt,
            progress=False,
        )


def test_more_epochs_trains_on_and_says_so(tmp_path, capsys):
    ckpt = tmp_path / "run.pt"
    straight, _ = train(5)
    train(3, ckpt)
    capsys.readouterr()
    longer, history = train(5, ckpt)
    out = capsys.readouterr().out
    assert "Resumed from" in out and "after epoch 3; training on to epoch 5" in out
    assert len(history) == 5 and same_weights(straight, longer)


def test_a_file_that_is_not_a_training_checkpoint_is_refused(tmp_path):
    ckpt = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, ckpt)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        train(2, ckpt)


def test_numpy_and_python_generators_are_restored_on_resume(tmp_path):
    """An augmentation that draws from NumPy and ``random`` repeats after a resume."""

    def jitter(batch):
        x, y = batch
        noise = torch.from_numpy(np.random.normal(0, 0.3, x.shape).astype("float32"))
        return x * random.uniform(0.8, 1.2) + noise, y

    straight, _ = train(4, transform=jitter)
    ckpt = tmp_path / "run.pt"
    calls = {"n": 0}

    class Exploding(nn.CrossEntropyLoss):
        def forward(self, output, target):
            calls["n"] += 1
            if calls["n"] > 2 * 13 + 4:
                raise Interrupt
            return super().forward(output, target)

    with pytest.raises(Interrupt):
        train(4, ckpt, transform=jitter, loss_fn=Exploding())
    np.random.seed(7)
    random.seed(7)
    torch.manual_seed(7)
    resumed, _ = train(4, ckpt, transform=jitter)
    assert same_weights(straight, resumed)


def test_cuda_generators_are_saved_and_restored_when_cuda_is_in_use(monkeypatch):
    saved = [torch.ByteTensor([1, 2, 3])]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: saved)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    state = resume_mod.rng_state()
    assert state["cuda"] is saved
    resume_mod.set_rng_state(state)
    assert restored == [saved]


def test_a_nan_loss_stops_training_naming_epoch_and_batch(tmp_path):
    x, y = blobs()
    x[205] = math.nan  # batch 7 of 13 in the unshuffled order
    model = small_net()
    ckpt = tmp_path / "run.pt"
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 7"):
        fit(
            model,
            TensorBatches(x, y, batch_size=32),
            epochs=3,
            checkpoint=ckpt,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
            loss_fn=nn.CrossEntropyLoss(),
            progress=False,
        )
    assert not ckpt.exists()  # nothing non-finite is saved
    history = fit(
        model,
        TensorBatches(x, y, batch_size=32),
        epochs=2,
        on_nonfinite="continue",
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        loss_fn=nn.CrossEntropyLoss(),
        progress=False,
        verbose=False,
    )
    assert math.isnan(history["train_loss"][0])


def test_an_exploding_learning_rate_is_caught_and_early_stopping_keeps_finite_weights():
    seed_everything(0)
    x, y = blobs()
    model = small_net()
    stopper = EarlyStopping(patience=3)
    with pytest.raises(NonFiniteLossError, match="learning rate may be too high"):
        fit(
            model,
            TensorBatches(x, y, batch_size=32),
            epochs=20,
            val=(x, y),
            optimizer=torch.optim.SGD(model.parameters(), lr=1e6),
            loss_fn=nn.CrossEntropyLoss(),
            early_stopping=stopper,
            progress=False,
        )
    assert stopper.best_state is None or all(
        torch.isfinite(v).all() for v in stopper.best_state.values()
    )


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory):
    """A real checkpoint after 2 of 3 epochs, as loaded (to be damaged by each test)."""
    ckpt = tmp_path_factory.mktemp("ckpt") / "run.pt"
    train(2, ckpt)
    return torch.load(ckpt, weights_only=True)


def _set(state: dict, where: str, value: object) -> dict:
    """``state`` with the field at the dotted path ``where`` replaced (or removed for
    ``_MISSING``)."""
    state = copy.deepcopy(state)
    *parents, key = where.split(".")
    target = state
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    index = int(key) if isinstance(target, list) else key
    if value is _MISSING:
        del target[index]
    else:
        target[index] = value
    return state


_MISSING = object()


@pytest.mark.parametrize(
    ("where", "value", "named"),
    [
        ("epoch", -4, "epoch is -4"),  # used to train 7 extra epochs
        ("epoch", "2", "epoch is '2' (str)"),
        ("epoch", 2.0, "epoch is 2.0 (float)"),
        ("epoch", True, "epoch is True (bool)"),
        ("epochs", 1, "epochs is 1"),
        ("epochs", "3", "epochs is '3' (str)"),
        ("history", _MISSING, "lacks history"),
        ("rng", _MISSING, "lacks rng"),
        ("model", _MISSING, "lacks model"),
        ("optimizer", _MISSING, "lacks optimizer"),
        ("history", "records", "history is 'records' (str)"),
        ("history.records", "abc", "history.records is 'abc' (str)"),
        ("history.records", [{"epoch": 1, "train_loss": 0.5}], "history.records holds 1"),
        ("history.records.1", [2.0], "history.records[1] is [2.0] (list)"),
        ("history.records.1.train_loss", "low", "history.records[1].train_loss is 'low' (str)"),
        ("history.records.1.epoch", 5, "history.records[1].epoch is 5"),
        ("history.best_epoch", 9, "history.best_epoch is 9"),
        ("history.stopped_early", "no", "history.stopped_early is 'no' (str)"),
        ("fingerprint", "run", "fingerprint is 'run' (str)"),
        ("model", [1, 2], "model is [1, 2] (list)"),
        ("optimizer.param_groups", None, "optimizer.param_groups is None"),
        ("callbacks", "none", "callbacks is 'none' (str)"),
        ("rng.numpy.pos", "x", "rng.numpy.pos is 'x' (str)"),
        ("rng.python", 3, "rng.python is 3 (int)"),
        ("metadata", 5, "metadata is 5 (int)"),
    ],
)
def test_a_checkpoint_with_wrong_fields_is_refused_saying_what_is_wrong(
    tmp_path, saved_state, where, value, named
):
    ckpt = tmp_path / "run.pt"
    torch.save(_set(saved_state, where, value), ckpt)
    with pytest.raises(ValueError, match="damaged or not") as err:
        train(3, ckpt)
    message = str(err.value)
    assert named in message, message
    assert str(ckpt) in message and "Delete the file" in message and "resume=False" in message
    assert "\n" not in message


def test_a_negative_epoch_is_refused_instead_of_training_extra_epochs(tmp_path, saved_state):
    ckpt = tmp_path / "run.pt"
    torch.save(_set(saved_state, "epoch", -4), ckpt)
    with pytest.raises(ValueError, match=r"epoch is -4 \(int\), not a whole number >= 0"):
        train(3, ckpt)
    _, history = train(3, ckpt, resume=False)  # starting fresh works, and overwrites it
    assert history.epochs == [1, 2, 3]
    assert torch.load(ckpt, weights_only=True)["epoch"] == 3


def test_an_intact_checkpoint_passes_the_checks(tmp_path, saved_state):
    ckpt = tmp_path / "run.pt"
    torch.save(saved_state, ckpt)
    _, history = train(3, ckpt)
    assert history.epochs == [1, 2, 3]


def test_a_checkpoint_that_is_not_a_dictionary_is_refused(tmp_path):
    ckpt = tmp_path / "run.pt"
    torch.save([1, 2, 3], ckpt)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        train(2, ckpt)
