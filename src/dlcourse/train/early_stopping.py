"""Early stopping that remembers, and can restore, the best weights."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs in a row.

    The rule is Keras's: after each epoch without improvement ``wait`` grows by one, and
    training stops as soon as ``wait >= patience``. With ``patience=2`` and no improvement
    after epoch 1, training stops after epoch 3, as ``keras.callbacks.EarlyStopping`` does.
    A NaN value is never an improvement.

    ``mode`` is ``"min"`` for losses and errors, ``"max"`` for accuracies. With
    ``restore_best`` the model ends with the weights of its best epoch, like Keras's
    ``EarlyStopping(restore_best_weights=True)`` (whose default is False: Keras keeps the
    last epoch's weights unless asked).

    It is a callback (see :mod:`dlcourse.train.callbacks`): pass it in ``fit(callbacks=...)``
    or as ``fit(early_stopping=...)``.
    """

    monitor: str = "val_loss"
    patience: int = 5
    mode: str = "min"
    min_delta: float = 0.0
    restore_best: bool = True
    best: float = field(default=math.nan, init=False)
    best_epoch: int | None = field(default=None, init=False)
    wait: int = field(default=0, init=False)
    best_state: dict[str, torch.Tensor] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience}")

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best_epoch is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, epoch: int, record: dict[str, float], model: nn.Module) -> bool:
        """Update with one epoch's record; True means stop training now."""
        if self.monitor not in record:
            raise KeyError(
                f"early stopping monitors {self.monitor!r} but the epoch recorded only "
                f"{sorted(record)}; pass validation data or monitor another quantity"
            )
        value = record[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_epoch_end(self, epoch: int, record: dict[str, float], model: nn.Module) -> bool:
        """The callback hook: same as :meth:`step`."""
        return self.step(epoch, record, model)

    def describe_stop(self) -> str:
        """One line for the log when this callback stopped training."""
        return f"early stopping (best {self.monitor} {self.best:.4g} at epoch {self.best_epoch})"

    def restore(self, model: nn.Module) -> None:
        """Put the best epoch's weights back into ``model`` (if they were kept)."""
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, object]:
        """Plain data for checkpoints."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore from :meth:`state_dict`."""
        self.best = float(state["best"])  # type: ignore[arg-type]
        self.best_epoch = state["best_epoch"]  # type: ignore[assignment]
        self.wait = int(state["wait"])  # type: ignore[arg-type]
        self.best_state = state["best_state"]  # type: ignore[assignment]
