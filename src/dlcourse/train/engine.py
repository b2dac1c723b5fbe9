"""``fit``, ``evaluate`` and ``predict``: the training loop of notebook 00, packaged.

Batches are tuples ``(inputs..., target)``: the model is called as ``model(*inputs)``.
``train`` and ``val`` may be :class:`TensorBatches`, a ``DataLoader``, or any re-iterable
of such tuples. Read :func:`fit` top to bottom: one epoch is :func:`_run_epoch` (forward,
loss, and :class:`_Step` for the backward pass and the update), then validation, then the
callbacks and the checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from dlcourse.config import show_progress
from dlcourse.train import ddp as dist
from dlcourse.train.batches import Batches, TensorBatches, as_batches
from dlcourse.train.callbacks import Callback, check_callbacks, describe
from dlcourse.train.checkpoint import atomic_save
from dlcourse.train.early_stopping import EarlyStopping
from dlcourse.train.history import History
from dlcourse.train.metrics import LossFn, MetricFn, Metrics, resolve
from dlcourse.train.precision import Precision, choose_precision
from dlcourse.train.resume import fingerprint, load_training_state, restore, training_state

PlateauLR = torch.optim.lr_scheduler.ReduceLROnPlateau
ONE_PROCESS = dist.World()


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite (see ``fit(on_nonfinite=...)``)."""


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _to_device(batch: Any, device: torch.device, channels_last: bool) -> list[torch.Tensor]:
    if not isinstance(batch, tuple | list) or len(batch) < 2:
        raise TypeError(
            f"each batch must be a tuple (inputs..., target), got {type(batch).__name__}; "
            "a Dataset's __getitem__ should return (x, y)"
        )
    moved = []
    for t in batch:
        t = t.to(device, non_blocking=True) if t.device != device else t
        if channels_last and t.dim() == 4 and t.is_floating_point():
            t = t.contiguous(memory_format=torch.channels_last)
        moved.append(t)
    return moved


@dataclass
class _Step:
    """The update after one batch's loss: backward, clipping, optimizer, per-batch scheduler."""

    optimizer: torch.optim.Optimizer
    precision: Precision
    clip_grad_norm: float | None = None
    batch_scheduler: Any = None

    def __call__(self, model: nn.Module, loss: torch.Tensor) -> None:
        scaler = self.precision.scaler
        self.optimizer.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler else loss).backward()
        if self.clip_grad_norm is not None:
            if scaler:
                scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), self.clip_grad_norm)
        if scaler:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        if self.batch_scheduler is not None:
            self.batch_scheduler.step()


def _run_epoch(
    model: nn.Module,
    batches: Batches,
    loss_fn: LossFn | None,
    metric_fns: dict[str, MetricFn],
    precision: Precision,
    step: _Step | None = None,
    world: dist.World = ONE_PROCESS,
    channels_last: bool = False,
    bar: tqdm | None = None,
) -> tuple[dict[str, float], int | None]:
    """One pass over ``batches``; trains when ``step`` is given.

    Returns the sample means (summed over all ranks) and the index of the first batch whose
    loss was not finite (None when all were).
    """
    device = _model_device(model)
    names = (["loss"] if loss_fn is not None else []) + list(metric_fns)
    dtype = torch.float32 if device.type == "mps" else torch.float64
    totals = torch.zeros(len(names) + 1, dtype=dtype, device=device)  # ..., sample count
    losses = []
    for batch in batches:
        *inputs, target = _to_device(batch, device, channels_last)
        with precision.autocast():
            output = model(*inputs)
            loss = loss_fn(output, target) if loss_fn is not None else None
        if step is not None and loss is not None:
            step(model, loss)
        values = [loss.detach().float()] if loss is not None else []
        out = output.detach().float()
        values += [fn(out, target) for fn in metric_fns.values()]
        n = len(target)
        totals += torch.stack([*(v.to(dtype) * n for v in values), torch.tensor(n, dtype=dtype)])
        if loss is not None:
            losses.append(values[0])
        if bar is not None:
            bar.update(1)
    totals = dist.sum_over_ranks(totals, world)
    seen = float(totals[-1])
    if seen == 0:
        raise ValueError("no batches to run: the data is empty")
    bad = None
    if losses:
        nonfinite = (~torch.isfinite(torch.stack(losses))).nonzero()
        bad = int(nonfinite[0]) if len(nonfinite) else None
    return {name: float(total) / seen for name, total in zip(names, totals, strict=False)}, bad


def _evaluate(
    model: nn.Module,
    batches: Batches,
    loss_fn: LossFn | None,
    metric_fns: dict[str, MetricFn],
    precision: Precision,
    world: dist.World = ONE_PROCESS,
    channels_last: bool = False,
) -> dict[str, float]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            stats, _ = _run_epoch(
                model, batches, loss_fn, metric_fns, precision, None, world, channels_last
            )
            return stats
    finally:
        model.train(was_training)


def evaluate(
    model: nn.Module,
    data: Batches | Sequence[torch.Tensor],
    loss_fn: LossFn | None = None,
    metrics: Metrics = (),
    batch_size: int = 1024,
) -> dict[str, float]:
    """Loss and metrics over ``data`` in eval mode, without gradients: ``{"loss": ..., ...}``."""
    precision = Precision(_model_device(model).type)
    return _evaluate(model, as_batches(data, batch_size), loss_fn, resolve(metrics), precision)


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


def _check_arguments(
    epochs: int,
    scheduler: Any,
    scheduler_step: str | None,
    on_nonfinite: str,
    val: object,
    callbacks: list[Callback],
) -> None:
    """Refuse inconsistent settings before any training, each with what to do instead."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if on_nonfinite not in ("stop", "continue"):
        raise ValueError(f"on_nonfinite must be 'stop' or 'continue', got {on_nonfinite!r}")
    if scheduler is not None:
        if scheduler_step not in ("batch", "epoch"):
            raise ValueError(
                f"scheduler_step must be 'batch' or 'epoch' when a scheduler is given, got "
                f"{scheduler_step!r}: 'batch' for OneCycleLR and warm-up + cosine (stepped after "
                "every optimizer step), 'epoch' for StepLR, CosineAnnealingLR(T_max=epochs), "
                "ReduceLROnPlateau"
            )
        if isinstance(scheduler, PlateauLR) and (scheduler_step == "batch" or val is None):
            raise ValueError(
                "ReduceLROnPlateau steps once per epoch on the validation loss: "
                "pass val=... and scheduler_step='epoch'"
            )
    for cb in callbacks:
        if isinstance(cb, EarlyStopping) and cb.monitor.startswith("val_") and val is None:
            raise KeyError(
                f"early stopping monitors {cb.monitor!r} but there is no validation data; "
                "pass val=... or monitor a training quantity such as 'train_loss'"
            )


def _log_line(record: dict[str, float], epochs: int) -> str:
    shown = "  ".join(
        f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "seconds", "lr")
    )
    return f"epoch {int(record['epoch'])}/{epochs}  {shown}  ({record['seconds']:.1f} s)"


def fit(
    model: nn.Module,
    train: Batches,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    val: Batches | Sequence[torch.Tensor] | None = None,
    metrics: Metrics = (),
    scheduler: Any = None,
    scheduler_step: str | None = None,
    early_stopping: EarlyStopping | None = None,
    callbacks: Sequence[Callback] = (),
    clip_grad_norm: float | None = None,
    amp: bool = False,
    channels_last: bool = False,
    on_nonfinite: str = "stop",
    checkpoint: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    verbose: bool = True,
    metadata: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return the per-epoch :class:`History`.

    - ``train`` / ``val``: :class:`TensorBatches`, a ``DataLoader``, or any re-iterable of
      ``(inputs..., target)`` tuples (``val`` also a tuple of tensors); ``val`` adds
      ``val_loss`` and ``val_<metric>`` to each record. Empty validation data is refused.
    - ``scheduler`` with ``scheduler_step``: ``"batch"`` steps it after every optimizer step
      (``OneCycleLR``, warm-up + cosine), ``"epoch"`` once per epoch (``StepLR``;
      ``ReduceLROnPlateau`` gets ``val_loss``). The rate at each epoch's start is ``lr``.
    - ``callbacks``: objects with ``on_epoch_end(epoch, record, model)``; True stops.
      ``early_stopping`` is one more (it also restores the best weights at the end).
    - ``clip_grad_norm``: clip the gradients' total norm (recurrent networks).
    - ``amp``: mixed precision on CUDA (bfloat16 where supported, else float16 with a
      ``GradScaler``); a no-op with a notice elsewhere. ``history.precision`` says which.
      ``channels_last``: that memory format for the model and 4-D inputs (image models).
    - ``on_nonfinite``: a NaN or infinite training loss raises :class:`NonFiniteLossError`
      naming the epoch and batch (``"stop"``), or is only recorded (``"continue"``).
    - ``checkpoint``: a file written after every epoch with everything needed to resume;
      with ``resume=True`` an existing one is continued (an interrupted run ends with the
      same weights as an uninterrupted one). A checkpoint of another run (other model,
      optimizer settings, data or batch size, or more epochs than asked) is refused, and so
      is a damaged one (a field missing, of the wrong type or out of range, such as a
      negative epoch); a larger ``epochs`` trains on.
    - Under ``torch.distributed`` (see :mod:`dlcourse.train.ddp`) the model is wrapped
      in ``DistributedDataParallel``, each rank trains on its shard, metrics are averaged
      over ranks, and rank 0 writes the checkpoint.
    - ``progress``: tqdm bars; by default shown to people, not in headless runs.
      ``verbose``: without bars, print about ten epoch lines and why training stopped.
    """
    callbacks = check_callbacks([*callbacks, *([early_stopping] if early_stopping else [])])
    _check_arguments(epochs, scheduler, scheduler_step, on_nonfinite, val, callbacks)
    world = dist.current()
    talk = verbose and world.is_main
    metric_fns = resolve(metrics)
    val_batches = as_batches(val) if val is not None else None
    if val_batches is not None and hasattr(val_batches, "__len__") and len(val_batches) == 0:
        raise ValueError("the validation data is empty: pass val=None, or some samples")
    train = dist.shard(train, world, training=True)
    if val_batches is not None:
        val_batches = dist.shard(val_batches, world, training=False)
    device = _model_device(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    precision = choose_precision(amp, device, talk)
    run_fingerprint = fingerprint(model, optimizer, train)
    history, start = History(precision=precision.name), 0
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and resume and path.exists():
        state = load_training_state(path, epochs, run_fingerprint)
        restore(state, model, optimizer, scheduler, precision.scaler, train, callbacks)
        start, history = int(state["epoch"]), History.from_state_dict(state["history"])
        if talk:
            more = f"; training on to epoch {epochs}" if epochs > state["epochs"] else ""
            print(f"Resumed from {path} after epoch {start}{more}.")
    if history.stopped_early or start >= epochs:
        if early_stopping is not None:
            early_stopping.restore(model)
        return history

    step = _Step(
        optimizer, precision, clip_grad_norm, scheduler if scheduler_step == "batch" else None
    )
    trained = dist.wrap(model, world)
    show = (show_progress() if progress is None else progress) and world.is_main
    log_every = max(1, epochs // 10)
    epoch_bar = tqdm(total=epochs, initial=start, desc="epochs", unit="epoch", disable=not show)
    batch_bar = tqdm(total=len(train) if hasattr(train, "__len__") else None, desc="batches",
                     leave=False, disable=not show)  # fmt: skip
    try:
        for epoch in range(start + 1, epochs + 1):
            began, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
            batch_bar.reset()
            dist.set_epoch(train, epoch)
            trained.train()
            stats, bad = _run_epoch(
                trained, train, loss_fn, metric_fns, precision, step, world, channels_last,
                batch_bar,
            )  # fmt: skip
            if bad is not None and on_nonfinite == "stop":
                raise NonFiniteLossError(
                    f"the training loss became {stats.get('loss', math.nan)} at epoch {epoch}, "
                    f"batch {bad + 1}: the learning rate may be too high, or the data holds NaN "
                    "or inf (check torch.isfinite(x).all()). Lower the learning rate, clip "
                    "gradients (clip_grad_norm=1.0), or pass on_nonfinite='continue'."
                )
            record: dict[str, float] = {"epoch": epoch}
            record.update({f"train_{k}": v for k, v in stats.items()})
            if val_batches is not None:
                val_stats = _evaluate(
                    model, val_batches, loss_fn, metric_fns, precision, world, channels_last
                )
                record.update({f"val_{k}": v for k, v in val_stats.items()})
            record["lr"] = lr
            record["seconds"] = time.perf_counter() - began
            history.records.append(record)
            if scheduler is not None and scheduler_step == "epoch":
                if isinstance(scheduler, PlateauLR):
                    scheduler.step(record["val_loss"])
                else:
                    scheduler.step()
            stopper = next((cb for cb in callbacks if cb.on_epoch_end(epoch, record, model)), None)
            if early_stopping is not None:
                history.best_epoch = early_stopping.best_epoch
            history.stopped_early = stopper is not None
            if path is not None:
                if world.is_main:
                    atomic_save(
                        training_state(
                            epoch, epochs, model, optimizer, scheduler, precision.scaler, train,
                            callbacks, history.state_dict(), run_fingerprint, dict(metadata or {}),
                        ),
                        path,
                    )  # fmt: skip
                dist.barrier(world)
            epoch_bar.update(1)
            epoch_bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
            if talk and not show and (epoch % log_every == 0 or epoch == epochs or stopper):
                print(_log_line(record, epochs))
            if stopper is not None:
                if talk:
                    print(f"Stopped after epoch {epoch} by {describe(stopper)}.")
                break
    finally:
        batch_bar.close()
        epoch_bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
    return history
