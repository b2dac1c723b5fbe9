"""Early stopping that remembers, and can restore, the best weights."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    ``mode`` is ``"min"`` for losses and errors, ``"max"`` for accuracies. With
    ``restore_best`` the model ends with the weights of its best epoch, like Keras's
    ``EarlyStopping(restore_best_weights=True)``.
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
        if math.isnan(self.best):
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
        return self.wait > self.patience

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
