"""A classical detector to compare with: threshold, connected components, size and shape.

The pipeline a microscopist would build in scikit-image (or Fiji): divide by a smooth
background (flat-field correction), smooth a little, threshold, and keep the connected
components whose area and roundness fit the objects sought. Its few parameters are tuned by a
grid search on the training frames.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.measure import label, regionprops

from dlcourse.segmentation.detection import detection_scores


@dataclass(frozen=True)
class ThresholdDetector:
    """Objects brighter (``polarity=1``) or darker (``-1``) than ``threshold`` background
    units, of ``min_area``-``max_area`` pixels and circularity 4πA/P² ≥ ``min_roundness``."""

    threshold: float
    min_area: int
    max_area: int
    min_roundness: float
    polarity: int = 1

    @staticmethod
    def flatten(image: np.ndarray) -> np.ndarray:
        """Flat-field corrected and smoothed image, in units of its background's spread."""
        flat = image / np.maximum(gaussian_filter(image, 20), 1e-6)
        smooth = gaussian_filter(flat, 1.0)
        return (smooth - np.median(smooth)) / (smooth.std() + 1e-9)

    def __call__(self, image: np.ndarray, flat: np.ndarray | None = None) -> np.ndarray:
        """Centroids [K, 2] of the objects found in one image [H, W]."""
        flat = self.flatten(image) if flat is None else flat
        regions = regionprops(label(self.polarity * flat > self.threshold))
        points = [
            r.centroid
            for r in regions
            if self.min_area <= r.area <= self.max_area
            and 4 * np.pi * r.area / max(r.perimeter, 1) ** 2 >= self.min_roundness
        ]
        return np.array(points, dtype=float).reshape(-1, 2)


def _objects(flat: np.ndarray, polarity: int, threshold: float) -> np.ndarray:
    """[K, 4] rows of (row, col, area, roundness) of the components above the threshold."""
    regions = regionprops(label(polarity * flat > threshold))
    rows = [(*r.centroid, r.area, 4 * np.pi * r.area / max(r.perimeter, 1) ** 2) for r in regions]
    return np.array(rows, dtype=float).reshape(-1, 4)


def tune_threshold_detector(
    images: np.ndarray, centroids: list[np.ndarray], max_distance: float
) -> tuple[ThresholdDetector, dict[str, float]]:
    """Grid search for the parameters with the best F1 on ``images`` [N, H, W]; returns the
    detector and its scores on those images."""
    flats = [ThresholdDetector.flatten(im) for im in images]
    best, best_scores = None, {"f1": -1.0}
    for polarity, threshold in itertools.product((1, -1), (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)):
        objects = [_objects(flat, polarity, threshold) for flat in flats]
        shapes = itertools.product((5, 15, 30, 50), (80, 150, 250, 400), (0.0, 0.5, 0.7, 0.85))
        for lo, hi, roundness in shapes:
            found = [
                o[(o[:, 2] >= lo) & (o[:, 2] <= hi) & (o[:, 3] >= roundness), :2] for o in objects
            ]
            scores = detection_scores(found, centroids, max_distance)
            if scores["f1"] > best_scores["f1"]:
                best = ThresholdDetector(threshold, lo, hi, roundness, polarity)
                best_scores = scores
    return best, best_scores
