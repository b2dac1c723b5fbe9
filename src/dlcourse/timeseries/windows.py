"""Sliding windows over several recordings, never crossing from one recording into the next."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def window_starts(lengths: Sequence[int], window: int, stride: int) -> np.ndarray:
    """``[N, 2]`` int64 rows ``(recording, start)``: every window lies inside one recording.

    Starts are ``0, stride, 2 * stride, ...``, plus the last possible start, so the end of
    each recording is covered too.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be at least 1, got {window} and {stride}")
    rows = []
    for index, length in enumerate(lengths):
        if length < window:
            raise ValueError(
                f"recording {index} has {length} rows, fewer than the window of {window}; "
                "use a shorter window"
            )
        starts = list(range(0, length - window + 1, stride))
        if starts[-1] != length - window:
            starts.append(length - window)
        rows += [(index, start) for start in starts]
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def make_windows(series: Sequence[np.ndarray], window: int, stride: int) -> torch.Tensor:
    """Cut ``[T_i, C]`` arrays (one per recording) into float32 windows ``[N, window, C]``."""
    index = window_starts([len(s) for s in series], window, stride)
    return torch.from_numpy(
        np.stack([series[r][start : start + window] for r, start in index]).astype(np.float32)
    )
