"""``fit``, ``evaluate`` and ``predict``: the training loop of notebook 00, packaged.

Batches are tuples ``(inputs..., target)``: the model is called as ``model(*inputs)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from dlcourse.config import show_progress
from dlcourse.train.batches import TensorBatches, as_batches
from dlcourse.train.checkpoint import atomic_save, safe_load
from dlcourse.train.early_stopping import EarlyStopping
from dlcourse.train.history import History
from dlcourse.train.metrics import MetricFn, resolve

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Metrics = dict[str, MetricFn] | Sequence[str]


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _run_epoch(
    model: nn.Module,
    batches: TensorBatches,
    loss_fn: LossFn | None,
    metric_fns: dict[str, MetricFn],
    optimizer: torch.optim.Optimizer | None = None,
    bar: tqdm | None = None,
) -> dict[str, float]:
    """One pass over ``batches``; trains when ``optimizer`` is given. Returns sample means."""
    device = _model_device(model)
    totals: dict[str, torch.Tensor] = {}
    seen = 0
    for batch in batches:
        if batch[0].device != device:
            batch = tuple(t.to(device) for t in batch)
        *inputs, target = batch
        output = model(*inputs)
        values: dict[str, torch.Tensor] = {}
        if loss_fn is not None:
            loss = loss_fn(output, target)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            values["loss"] = loss.detach()
        out = output.detach()
        for name, fn in metric_fns.items():
            values[name] = fn(out, target)
        n = len(target)
        for name, value in values.items():
            totals[name] = totals.get(name, 0) + value * n
        seen += n
        if bar is not None:
            bar.update(1)
    if seen == 0:
        raise ValueError("no batches to run: the data is empty")
    return {name: float(total) / seen for name, total in totals.items()}


def evaluate(
    model: nn.Module,
    data: TensorBatches | Sequence[torch.Tensor],
    loss_fn: LossFn | None = None,
    metrics: Metrics = (),
    batch_size: int = 1024,
) -> dict[str, float]:
    """Loss and metrics over ``data`` in eval mode, without gradients: ``{"loss": ..., ...}``."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _run_epoch(model, as_batches(data, batch_size), loss_fn, resolve(metrics))
    finally:
        model.train(was_training)


def predict(model: nn.Module, *inputs: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Model outputs for ``inputs`` in batches (eval mode, no gradients), on the CPU."""
    device = _model_device(model)
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with torch.no_grad():
            for batch in TensorBatches(*inputs, batch_size=batch_size):
                outputs.append(model(*(t.to(device) for t in batch)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(outputs)


def _training_state(
    epoch: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    train: TensorBatches,
    history: History,
    early_stopping: EarlyStopping | None,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    return {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "batches": train.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "history": history.state_dict(),
        "early_stopping": early_stopping.state_dict() if early_stopping else None,
        "metadata": metadata,
    }


def _resume(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    train: TensorBatches,
    early_stopping: EarlyStopping | None,
) -> tuple[int, History]:
    state = safe_load(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    train.load_state_dict(state["batches"])
    torch.set_rng_state(state["torch_rng"])
    if early_stopping is not None and state["early_stopping"] is not None:
        early_stopping.load_state_dict(state["early_stopping"])
    return int(state["epoch"]), History.from_state_dict(state["history"])


def _log_line(record: dict[str, float], epochs: int) -> str:
    shown = "  ".join(
        f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "seconds", "lr")
    )
    return f"epoch {int(record['epoch'])}/{epochs}  {shown}  ({record['seconds']:.1f} s)"


def fit(
    model: nn.Module,
    train: TensorBatches,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    val: TensorBatches | Sequence[torch.Tensor] | None = None,
    metrics: Metrics = (),
    scheduler: Any = None,
    early_stopping: EarlyStopping | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    verbose: bool = True,
    metadata: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return the per-epoch :class:`History`.

    - ``val``: validation batches; adds ``val_loss`` and ``val_<metric>`` to each record.
    - ``scheduler``: stepped once per epoch (``ReduceLROnPlateau`` gets ``val_loss``).
    - ``early_stopping``: stops, and restores the best weights, see :class:`EarlyStopping`.
    - ``checkpoint``: a file written after every epoch with everything needed to resume;
      with ``resume=True`` an existing one is continued, so an interrupted run picks up
      where it stopped and ends with the same weights as an uninterrupted one.
    - ``progress``: tqdm bars; by default shown to people, not in headless runs.
    - ``verbose``: without bars, print about ten epoch lines and why training stopped;
      ``False`` prints nothing (e.g. when training many models in a loop).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    metric_fns = resolve(metrics)
    val_batches = as_batches(val) if val is not None else None
    metadata = dict(metadata or {})
    history, start = History(), 0
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and resume and path.exists():
        start, history = _resume(path, model, optimizer, scheduler, train, early_stopping)
        if verbose:
            print(f"Resumed from {path} after epoch {start}.")
    if history.stopped_early or start >= epochs:
        if early_stopping is not None:
            early_stopping.restore(model)
        return history

    show = show_progress() if progress is None else progress
    log_every = max(1, epochs // 10)
    epoch_bar = tqdm(total=epochs, initial=start, desc="epochs", unit="epoch", disable=not show)
    batch_bar = tqdm(total=len(train), desc="batches", leave=False, disable=not show)
    try:
        for epoch in range(start + 1, epochs + 1):
            began = time.perf_counter()
            batch_bar.reset()
            model.train()
            record: dict[str, float] = {"epoch": epoch}
            train_stats = _run_epoch(model, train, loss_fn, metric_fns, optimizer, batch_bar)
            record.update({f"train_{k}": v for k, v in train_stats.items()})
            if val_batches is not None:
                val_stats = evaluate(model, val_batches, loss_fn, metric_fns)
                record.update({f"val_{k}": v for k, v in val_stats.items()})
            record["lr"] = optimizer.param_groups[0]["lr"]
            record["seconds"] = time.perf_counter() - began
            history.records.append(record)
            if scheduler is not None:
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(record["val_loss"])
                else:
                    scheduler.step()
            stop = early_stopping is not None and early_stopping.step(epoch, record, model)
            if early_stopping is not None:
                history.best_epoch = early_stopping.best_epoch
            history.stopped_early = stop
            if path is not None:
                atomic_save(
                    _training_state(
                        epoch, model, optimizer, scheduler, train, history, early_stopping, metadata
                    ),
                    path,
                )
            epoch_bar.update(1)
            epoch_bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
            if verbose and not show and (epoch % log_every == 0 or epoch == epochs or stop):
                print(_log_line(record, epochs))
            if stop and verbose:
                print(
                    f"Early stopping after epoch {epoch}: best {early_stopping.monitor} "
                    f"{early_stopping.best:.4g} at epoch {early_stopping.best_epoch}."
                )
            if stop:
                break
    finally:
        batch_bar.close()
        epoch_bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
    return history
