"""Plots for the detection notebooks: frames with their truth, and with detections scored."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes

from dlcourse.segmentation.detection import match_points


def _array(image: torch.Tensor | np.ndarray) -> np.ndarray:
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    return array.reshape(array.shape[-2:])


def show_truth(ax: Axes, image, mask, title: str = "") -> None:
    """A frame in grey with the outline of its truth mask in yellow."""
    ax.imshow(_array(image), cmap="gray")
    mask = _array(mask)
    if mask.any():
        ax.contour(mask, [0.5], colors="yellow", linewidths=0.8)
    ax.set_title(title)
    ax.axis("off")


def show_detections(
    ax: Axes, image, pred: np.ndarray, true: np.ndarray, max_distance: float, title: str = ""
) -> None:
    """A frame with matched detections (green circles), false alarms (red crosses) and
    misses (blue squares)."""
    m = match_points(pred, true, max_distance)
    ax.imshow(_array(image), cmap="gray")
    hits = pred[m.pairs[:, 0]] if m.tp else np.zeros((0, 2))
    ax.scatter(hits[:, 1], hits[:, 0], s=90, facecolors="none", edgecolors="lime", label="found")
    fp, fn = pred[m.false_positives], true[m.false_negatives]
    ax.scatter(fp[:, 1], fp[:, 0], s=70, marker="x", color="red", label="false alarm")
    ax.scatter(
        fn[:, 1],
        fn[:, 0],
        s=90,
        marker="s",
        facecolors="none",
        edgecolors="deepskyblue",
        label="missed",
    )
    ax.set_title(title)
    ax.axis("off")
