"""Per-epoch training history: one record of floats per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class History:
    """What ``fit`` measured, epoch by epoch (``train_loss``, ``val_accuracy``, ``lr``, ...)."""

    records: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

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

    def best(self, key: str | None = None) -> dict[str, float]:
        """The record of the best epoch (the restored one after early stopping, else the last)."""
        if not self.records:
            raise ValueError("the history is empty: nothing was trained")
        if key is None and self.best_epoch is not None:
            return self.records[self.best_epoch - 1]
        return self.records[-1] if key is None else min(self.records, key=lambda r: r[key])

    def to_frame(self) -> pd.DataFrame:
        """The history as a table indexed by epoch."""
        return pd.DataFrame(self.records).set_index("epoch")

    def state_dict(self) -> dict[str, object]:
        """Plain data for checkpoints."""
        return {
            "records": self.records,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, object]) -> History:
        """Rebuild from :meth:`state_dict`."""
        return cls(
            records=list(state["records"]),  # type: ignore[arg-type]
            best_epoch=state["best_epoch"],  # type: ignore[arg-type]
            stopped_early=bool(state["stopped_early"]),
        )
