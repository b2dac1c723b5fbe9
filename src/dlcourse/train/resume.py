"""What a training checkpoint holds, how it is restored, and the check that it fits the run.

A checkpoint stores everything a resumed run needs to continue exactly where it stopped:
weights, optimizer, scheduler, grad scaler, the batches' shuffling state, callback states,
every random generator (CPU, each CUDA device, NumPy, Python) and the history. It also
stores a *fingerprint* of the run (parameters, optimizer and its settings, data size,
batch size) so that a checkpoint of another run is refused instead of taking it over.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, SequentialSampler

from dlcourse.train.batches import Batches
from dlcourse.train.checkpoint import safe_load

_SKIPPED_GROUP_KEYS = {"params", "initial_lr", "lr"}


def rng_state() -> dict[str, Any]:
    """Every random generator's state, as plain data that loads with ``weights_only=True``."""
    np_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (CUDA states only where CUDA is in use)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    saved = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": saved["key"].numpy().astype(np.uint32), "pos": saved["pos"]},
            "has_gauss": saved["has_gauss"],
            "gauss": saved["gauss"],
        }
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def batches_state(batches: Batches) -> dict[str, Any]:
    """The batches' order state; refuses batches whose order cannot be saved."""
    if hasattr(batches, "state_dict") and hasattr(batches, "load_state_dict"):
        return batches.state_dict()  # type: ignore[union-attr]
    if isinstance(batches, DataLoader):
        if batches.generator is not None:
            return {"generator": batches.generator.get_state()}
        if isinstance(batches.sampler, SequentialSampler) or hasattr(batches.sampler, "set_epoch"):
            return {}
    raise TypeError(
        f"checkpoint= needs training batches whose order can be saved and restored, and "
        f"{type(batches).__name__} cannot: use TensorBatches, a DataLoader with "
        "generator=torch.Generator().manual_seed(...) (or without shuffling), or an object with "
        "state_dict()/load_state_dict(); or train without checkpoint="
    )


def load_batches_state(batches: Batches, state: dict[str, Any]) -> None:
    """Restore what :func:`batches_state` saved."""
    if hasattr(batches, "load_state_dict"):
        batches.load_state_dict(state)  # type: ignore[union-attr]
    elif isinstance(batches, DataLoader) and batches.generator is not None:
        batches.generator.set_state(state["generator"])


def _plain(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value if isinstance(value, int | float | str | bool | type(None)) else repr(value)


def fingerprint(
    model: nn.Module, optimizer: torch.optim.Optimizer, batches: Batches
) -> dict[str, object]:
    """What must match between a checkpoint and the run that resumes it.

    It is taken from the fresh objects before training, so a scheduler's later changes do
    not count: each parameter group's starting learning rate and its other settings
    (momentum, weight decay, betas, eps, ...) are in.
    """
    groups = [
        {k: _plain(v) for k, v in sorted(g.items()) if k not in _SKIPPED_GROUP_KEYS}
        | {"lr": _plain(g.get("initial_lr", g["lr"]))}
        for g in optimizer.param_groups
    ]
    samples = getattr(batches, "num_samples", None)
    if samples is None and isinstance(batches, DataLoader):
        samples = len(batches.dataset)  # type: ignore[arg-type]
    return {
        "parameters": [[name, list(p.shape)] for name, p in model.state_dict().items()],
        "optimizer": type(optimizer).__name__,
        "param_groups": groups,
        "train_samples": samples,
        "batch_size": getattr(batches, "batch_size", None),
    }


def differences(saved: dict[str, object], now: dict[str, object]) -> list[str]:
    """Human-readable differences between two fingerprints."""
    found = []
    for key in now:
        old, new = saved.get(key), now[key]
        if old == new:
            continue
        if key == "parameters":
            old_names = {n: s for n, s in old or []}  # type: ignore[union-attr]
            new_names = {n: s for n, s in new}  # type: ignore[union-attr]
            common = old_names.keys() & new_names.keys()
            changed = sorted(n for n in common if old_names[n] != new_names[n])
            missing = sorted(old_names.keys() ^ new_names.keys())
            detail = ", ".join(
                [f"{n} {old_names[n]} -> {new_names[n]}" for n in changed[:3]]
                + [f"{n} only in one" for n in missing[:3]]
            )
            found.append(f"model parameters differ ({detail})")
        else:
            found.append(f"{key}: checkpoint {old!r}, this run {new!r}")
    return found


def training_state(
    epoch: int,
    epochs: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    train: Batches,
    callbacks: list[Any],
    history_state: dict[str, Any],
    run_fingerprint: dict[str, object],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """Everything a resumed run needs, as plain data for ``torch.save``."""
    return {
        "epoch": epoch,
        "epochs": epochs,
        "fingerprint": run_fingerprint,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "batches": batches_state(train),
        "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else None for cb in callbacks],
        "rng": rng_state(),
        "history": history_state,
        "metadata": metadata,
    }


#: The fields :func:`training_state` writes and :func:`restore` needs (``metadata`` is optional).
FIELDS = (
    "epoch", "epochs", "fingerprint", "model", "optimizer", "scheduler", "scaler", "batches",
    "callbacks", "rng", "history",
)  # fmt: skip


def _show(value: object) -> str:
    """``value`` for a message: its repr (shortened) and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_tensors(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, torch.Tensor) for v in value)


class _Checks:
    """Collects what is wrong with a loaded checkpoint, one phrase per problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def need(self, name: str, value: object, ok: bool, expected: str) -> bool:
        """Note ``name is <value>, not <expected>`` unless ``ok``; return ``ok``."""
        if not ok:
            self.problems.append(f"{name} is {_show(value)}, not {expected}")
        return ok

    def mapping(self, name: str, value: object, optional: bool = False) -> bool:
        ok = isinstance(value, dict) or (optional and value is None)
        return self.need(name, value, ok, "a dictionary" + (" or None" if optional else ""))


def _check_epochs(checks: _Checks, state: dict[str, Any]) -> int | None:
    """Check ``epoch`` and ``epochs``; the number of epochs trained when it is valid."""
    epoch, saved = state["epoch"], state["epochs"]
    epoch_ok = checks.need("epoch", epoch, _is_int(epoch) and epoch >= 0, "a whole number >= 0")
    saved_ok = checks.need("epochs", saved, _is_int(saved) and saved >= 1, "a whole number >= 1")
    if epoch_ok and saved_ok and saved < epoch:
        checks.problems.append(f"epochs is {_show(saved)}, fewer than the epoch {epoch} trained")
    return epoch if epoch_ok else None


def _check_history(checks: _Checks, history: object, epoch: int | None) -> None:
    if not checks.mapping("history", history):
        return
    assert isinstance(history, dict)
    missing = [key for key in ("records", "best_epoch", "stopped_early") if key not in history]
    if missing:
        checks.problems.append(f"history lacks {', '.join(missing)}")
        return
    records = history["records"]
    if not checks.need("history.records", records, isinstance(records, list), "a list"):
        return
    if epoch is not None and len(records) != epoch:
        checks.problems.append(f"history.records holds {len(records)} epochs, not {epoch}")
    for i, record in enumerate(records):
        name = f"history.records[{i}]"
        if not checks.mapping(name, record):
            return
        if record.get("epoch") != i + 1 or not _is_int(record.get("epoch")):
            checks.need(f"{name}.epoch", record.get("epoch"), False, str(i + 1))
            return
        for key, value in record.items():
            ok = isinstance(key, str) and _is_number(value)
            if not checks.need(f"{name}.{key}", value, ok, "a number"):
                return
    best = history["best_epoch"]
    best_ok = best is None or (_is_int(best) and 1 <= best <= len(records))
    checks.need("history.best_epoch", best, best_ok, f"None or an epoch 1-{len(records)}")
    stopped = history["stopped_early"]
    checks.need("history.stopped_early", stopped, isinstance(stopped, bool), "True or False")
    precision = history.get("precision", "float32")
    checks.need("history.precision", precision, isinstance(precision, str), "a name")


def _check_rng(checks: _Checks, rng: object) -> None:
    if not checks.mapping("rng", rng):
        return
    assert isinstance(rng, dict)
    missing = [key for key in ("torch", "cuda", "numpy", "python") if key not in rng]
    if missing:
        checks.problems.append(f"rng lacks {', '.join(missing)}")
        return
    cpu, cuda, numpy, python = rng["torch"], rng["cuda"], rng["numpy"], rng["python"]
    checks.need("rng.torch", cpu, isinstance(cpu, torch.Tensor), "a tensor")
    checks.need("rng.cuda", cuda, cuda is None or _is_tensors(cuda), "None or a list of tensors")
    if checks.mapping("rng.numpy", numpy):
        key, pos = numpy.get("key"), numpy.get("pos")
        has_gauss, gauss = numpy.get("has_gauss"), numpy.get("gauss")
        key_ok = isinstance(key, torch.Tensor) and key.numel() == 624
        checks.need("rng.numpy.key", key, key_ok, "a tensor of 624 numbers")
        checks.need("rng.numpy.pos", pos, _is_int(pos) and 0 <= pos <= 624, "a number 0-624")
        checks.need("rng.numpy.has_gauss", has_gauss, has_gauss in (0, 1), "0 or 1")
        checks.need("rng.numpy.gauss", gauss, _is_number(gauss), "a number")
    python_ok = (
        isinstance(python, list | tuple)
        and len(python) == 3
        and _is_int(python[0])
        and isinstance(python[1], list | tuple)
        and all(_is_int(v) for v in python[1])
        and (python[2] is None or _is_number(python[2]))
    )
    checks.need("rng.python", python, python_ok, "Python's random state (version, ints, gauss)")


def state_problems(state: dict[str, Any], epochs: int) -> list[str]:
    """What is wrong with the fields of a loaded checkpoint (types, sizes and ranges), one
    phrase per problem; empty when it can be restored. ``epochs`` is the run's number of
    epochs (more epochs trained than that is a different run, reported by the caller)."""
    missing = [name for name in FIELDS if name not in state]
    if missing:
        return [f"it lacks {', '.join(missing)}"]
    checks = _Checks()
    epoch = _check_epochs(checks, state)
    checks.mapping("fingerprint", state["fingerprint"])
    model = state["model"]
    model_ok = isinstance(model, dict) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model.items()
    )
    checks.need("model", model, model_ok, "a state dict (names to tensors)")
    optimizer = state["optimizer"]
    if checks.mapping("optimizer", optimizer):
        groups, inner = optimizer.get("param_groups"), optimizer.get("state")
        groups_ok = isinstance(groups, list) and all(isinstance(g, dict) for g in groups)
        checks.need("optimizer.param_groups", groups, groups_ok, "a list of dictionaries")
        checks.mapping("optimizer.state", inner)
    checks.mapping("scheduler", state["scheduler"], optional=True)
    checks.mapping("scaler", state["scaler"], optional=True)
    checks.mapping("batches", state["batches"])
    callbacks = state["callbacks"]
    callbacks_ok = isinstance(callbacks, list) and all(
        c is None or isinstance(c, dict) for c in callbacks
    )
    checks.need("callbacks", callbacks, callbacks_ok, "a list of dictionaries or None")
    _check_rng(checks, state["rng"])
    _check_history(checks, state["history"], epoch)
    checks.mapping("metadata", state.get("metadata", {}))
    return checks.problems


def load_training_state(
    path: Path, epochs: int, run_fingerprint: dict[str, object]
) -> dict[str, Any]:
    """Read a checkpoint and refuse it, saying why and what to do, if it is damaged (a field
    of the wrong type or out of range, see :func:`state_problems`) or another run's."""
    state = safe_load(path)
    if not isinstance(state, dict) or "fingerprint" not in state or "epoch" not in state:
        raise ValueError(
            f"{path} is not a training checkpoint of dlcourse.train.fit; "
            "pass resume=False to start fresh (it will be overwritten) or delete it"
        )
    damaged = state_problems(state, epochs)
    if damaged:
        raise ValueError(
            f"{path} is damaged or not written by dlcourse.train.fit: "
            + "; ".join(damaged)
            + ". Delete the file, or pass resume=False to start fresh (it will be overwritten)."
        )
    problems = differences(state["fingerprint"], run_fingerprint)
    if epochs < state["epoch"]:
        problems.append(f"epochs={epochs} but the checkpoint has trained {state['epoch']} epochs")
    if problems:
        raise ValueError(
            f"{path} holds a checkpoint of a different run: "
            + "; ".join(problems)
            + ". Pass resume=False to start fresh (it will be overwritten), or delete the file."
        )
    return state


def restore(
    state: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    train: Batches,
    callbacks: list[Any],
) -> None:
    """Put a loaded checkpoint back into the run's objects."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    load_batches_state(train, state["batches"])
    for cb, cb_state in zip(callbacks, state["callbacks"], strict=False):
        if cb_state is not None and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(cb_state)
    set_rng_state(state["rng"])
