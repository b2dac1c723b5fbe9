"""Regression scores over whole recordings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def r2_per_column(pred: Sequence[np.ndarray], true: Sequence[np.ndarray]) -> np.ndarray:
    """R² of each column (ROI), pooling the rows of all recordings: 1 - SSE / SST.

    1 is perfect, 0 is no better than predicting the column's mean, below 0 is worse.
    """
    p = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in pred])
    t = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in true])
    if p.shape != t.shape:
        raise ValueError(f"predictions {p.shape} and truth {t.shape} differ in shape")
    sse = ((p - t) ** 2).sum(axis=0)
    sst = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - sse / sst


class WarmupMSE:
    """Mean squared error over ``[N, T, C]`` windows, skipping the first ``warmup`` steps.

    A window starts the recurrent state at zero; the first steps are spent catching up on
    the history the window does not show, so they are left out of the loss.
    """

    def __init__(self, warmup: int = 0) -> None:
        self.warmup = warmup

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (output[:, self.warmup :] - target[:, self.warmup :]).pow(2).mean()
