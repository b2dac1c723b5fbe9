"""Standardisation with training statistics, storable in a checkpoint as plain lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """Per-column ``(x - mean) / std``; ``fit`` it on training recordings only."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, arrays: Sequence[np.ndarray]) -> Standardizer:
        """Statistics of the rows of ``arrays`` (each ``[T]`` or ``[T, C]``), pooled."""
        data = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in arrays])
        std = data.std(axis=0)
        std[std == 0] = 1.0  # a constant column stays constant instead of becoming NaN
        return cls(tuple(data.mean(axis=0).tolist()), tuple(std.tolist()))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 copy of ``x`` ([T] or [T, C])."""
        x = np.asarray(x, dtype=np.float64)
        out = (x.reshape(len(x), -1) - self.mean) / self.std
        return out.astype(np.float32).reshape(x.shape)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Back to the original units."""
        z = np.asarray(z, dtype=np.float64)
        return (z.reshape(len(z), -1) * self.std + self.mean).reshape(z.shape)

    def to_dict(self) -> dict[str, list[float]]:
        """Plain data for checkpoints."""
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, state: dict[str, list[float]]) -> Standardizer:
        """Rebuild from :meth:`to_dict`."""
        return cls(tuple(float(v) for v in state["mean"]), tuple(float(v) for v in state["std"]))
