"""Direct multi-step forecasting: from everything seen up to row t, the values at t + h."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def forecast_pairs(
    inputs: np.ndarray, targets: np.ndarray, horizons: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``[T - H, C_in]`` and targets ``[T - H, len(horizons) * C]`` with H the largest
    horizon: target row ``t`` holds ``targets[t + h]`` for each ``h`` (horizon-major blocks of
    ``C`` columns). The last H rows have no future to compare with and are dropped."""
    if not horizons or min(horizons) < 1:
        raise ValueError(f"horizons must be positive row counts, got {list(horizons)}")
    longest = max(horizons)
    rows = len(inputs) - longest
    if rows < 1 or len(targets) != len(inputs):
        raise ValueError(
            f"need inputs and targets of equal length above the longest horizon ({longest}), "
            f"got {len(inputs)} and {len(targets)} rows"
        )
    future = [targets[h : h + rows] for h in horizons]
    return inputs[:rows], np.concatenate(future, axis=1)


def split_horizons(values: np.ndarray, n_horizons: int) -> np.ndarray:
    """``[T, n_horizons * C]`` → ``[n_horizons, T, C]`` (undoes the layout of the targets)."""
    rows, width = values.shape
    return values.reshape(rows, n_horizons, width // n_horizons).transpose(1, 0, 2)
