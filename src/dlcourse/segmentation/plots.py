"""Plots for the detection notebooks: frames with truth and detections, error crops."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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


def error_crops(
    images,
    preds: list[np.ndarray],
    trues: list[np.ndarray],
    max_distance: float,
    kind: str = "missed",
    count: int = 6,
    half: int = 16,
) -> Figure:
    """Crops around the first ``count`` misses (``kind="missed"``) or false alarms
    (``"false alarm"``) over all frames."""
    found = []
    for i, (p, t) in enumerate(zip(preds, trues, strict=True)):
        m = match_points(p, t, max_distance)
        points = t[m.false_negatives] if kind == "missed" else p[m.false_positives]
        found.extend((i, pt) for pt in points)
    fig, axes = plt.subplots(1, count, figsize=(2 * count, 2.3), squeeze=False)
    for ax, (i, (r, c)) in zip(axes[0], found[:count], strict=False):
        image = _array(images[i])
        padded = np.pad(image, half, mode="reflect")
        r, c = int(round(r)) + half, int(round(c)) + half
        ax.imshow(padded[r - half : r + half, c - half : c + half], cmap="gray")
        ax.set_title(f"frame {i}", fontsize=9)
    for ax in axes[0]:
        ax.axis("off")
    fig.suptitle(f"{kind}: {len(found)} in all" + ("" if found else " (none)"))
    fig.tight_layout()
    return fig
