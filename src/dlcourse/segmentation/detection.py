"""Objects from masks, and detection scores by one-to-one matching of centroids.

A predicted and a true object match when their centroids lie within ``max_distance`` pixels;
each object matches at most one other, and the matching maximises the number of matches,
then minimises the total distance (the Hungarian algorithm,
``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from skimage.measure import label, regionprops


def centroids_from_mask(mask: np.ndarray, min_area: int = 1) -> np.ndarray:
    """Centroids (row, col) of the connected components of a 0/1 mask [H, W] with at least
    ``min_area`` pixels, as a float array [K, 2]."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected one mask [H, W], got shape {mask.shape}")
    regions = regionprops(label(mask > 0.5, connectivity=2))
    points = [r.centroid for r in regions if r.area >= min_area]
    return np.array(points, dtype=float).reshape(-1, 2)


@dataclass(frozen=True)
class Matching:
    """The outcome of matching: index pairs (predicted, true), and the unmatched ones."""

    pairs: np.ndarray  # [M, 2] int: predicted index, true index
    false_positives: np.ndarray  # predicted indices without a match
    false_negatives: np.ndarray  # true indices without a match

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return len(self.false_positives)

    @property
    def fn(self) -> int:
        return len(self.false_negatives)


def match_points(pred: np.ndarray, true: np.ndarray, max_distance: float) -> Matching:
    """Match predicted to true points [K, 2] one-to-one within ``max_distance``."""
    pred = np.asarray(pred, dtype=float).reshape(-1, 2)
    true = np.asarray(true, dtype=float).reshape(-1, 2)
    pairs = np.zeros((0, 2), dtype=int)
    if len(pred) and len(true):
        dist = np.linalg.norm(pred[:, None, :] - true[None, :, :], axis=-1)
        allowed = dist <= max_distance
        # Every allowed pair costs less than any set of fewer matches could save.
        big = 1.0 + max_distance * (min(len(pred), len(true)) + 1)
        cost = np.where(allowed, dist, big)
        rows, cols = linear_sum_assignment(cost)
        keep = allowed[rows, cols]
        pairs = np.stack([rows[keep], cols[keep]], axis=1)
    fp = np.setdiff1d(np.arange(len(pred)), pairs[:, 0])
    fn = np.setdiff1d(np.arange(len(true)), pairs[:, 1])
    return Matching(pairs, fp, fn)


def detection_scores(
    preds: list[np.ndarray], trues: list[np.ndarray], max_distance: float
) -> dict[str, float]:
    """Precision, recall and F1 over several images (counts summed, then the ratios):
    ``preds[i]`` and ``trues[i]`` are the points [K, 2] of image ``i``."""
    if len(preds) != len(trues):
        raise ValueError(f"{len(preds)} predicted point sets but {len(trues)} true ones")
    tp = fp = fn = 0
    for p, t in zip(preds, trues, strict=True):
        m = match_points(p, t, max_distance)
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}
