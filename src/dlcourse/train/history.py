"""Per-epoch training history: one record of floats per epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

#: Quantities where larger is better; any other (losses, errors) is better smaller.
HIGHER_IS_BETTER = ("acc", "r2", "dice", "iou", "f1", "auc", "precision", "recall")


def better_direction(key: str) -> str:
    """``"max"`` for accuracy-like names (``val_accuracy``, ``val_r2``, ...), else ``"min"``."""
    name = key.lower().removeprefix("train_").removeprefix("val_")
    return "max" if any(word in name for word in HIGHER_IS_BETTER) else "min"


@dataclass
class History:
    """What ``fit`` measured, epoch by epoch (``train_loss``, ``val_accuracy``, ``lr``, ...)."""

    records: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    precision: str = "float32"

    def __getitem__(self, key: str) -> list[float]:
        """All values of one quantity, e.g. ``history["val_loss"]``."""
        if not self.records or key not in self.records[0]:
            known = sorted(self.records[0]) if self.records else []
            raise KeyError(f"{key!r} was not recorded; recorded: {known}")
        return [r[key] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def epochs(self) -> list[int]:
        """Epoch numbers, starting at 1."""
        return [int(r["epoch"]) for r in self.records]

    def best(self, key: str | None = None, mode: str | None = None) -> dict[str, float]:
        """The record of the best epoch.

        Without ``key``: the epoch early stopping restored, else the last one. With ``key``:
        the epoch where it was lowest (``mode="min"``) or highest (``"max"``); by default the
        direction follows the name (``val_accuracy`` → max, ``val_loss`` → min, see
        :func:`better_direction`). NaN values never win.
        """
        if not self.records:
            raise ValueError("the history is empty: nothing was trained")
        if key is None:
            return self.records[(self.best_epoch or len(self.records)) - 1]
        values = self[key]
        mode = mode or better_direction(key)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        finite = [i for i, v in enumerate(values) if not math.isnan(v)]
        if not finite:
            raise ValueError(f"every recorded {key!r} is NaN: there is no best epoch")
        pick = min if mode == "min" else max
        return self.records[pick(finite, key=lambda i: values[i])]

    def to_frame(self) -> pd.DataFrame:
        """The history as a table indexed by epoch."""
        return pd.DataFrame(self.records).set_index("epoch")

    def state_dict(self) -> dict[str, object]:
        """Plain data for checkpoints."""
        return {
            "records": self.records,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "precision": self.precision,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, object]) -> History:
        """Rebuild from :meth:`state_dict`."""
        return cls(
            records=list(state["records"]),  # type: ignore[arg-type]
            best_epoch=state["best_epoch"],  # type: ignore[arg-type]
            stopped_early=bool(state["stopped_early"]),
            precision=str(state.get("precision", "float32")),
        )
