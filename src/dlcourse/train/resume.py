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


def load_training_state(
    path: Path, epochs: int, run_fingerprint: dict[str, object]
) -> dict[str, Any]:
    """Read a checkpoint and refuse it, saying why and what to do, if it is another run's."""
    state = safe_load(path)
    if "fingerprint" not in state or "epoch" not in state:
        raise ValueError(
            f"{path} is not a training checkpoint of dlcourse.train.fit; "
            "pass resume=False to start fresh (it will be overwritten) or delete it"
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
