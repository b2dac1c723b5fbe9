"""Plots the notebooks share: image grids, predictions with confidence, training curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from dlcourse.config import is_quick
from dlcourse.train.history import History

#: What a quick-mode (smoke run) figure says across itself.
SMOKE_RUN_NOTE = "SMOKE RUN (quick mode)\na few epochs on a subset: not the real results"


def mark_smoke_run(fig: Figure | None = None) -> Figure:
    """In quick mode, write :data:`SMOKE_RUN_NOTE` across ``fig`` (default: the current
    figure) as a watermark, so that a smoke run's plot is never taken for a result. In full
    mode the figure is left alone. Returns the figure."""
    fig = fig or plt.gcf()
    if is_quick() and not any(t.get_text() == SMOKE_RUN_NOTE for t in fig.texts):
        fig.text(
            0.5, 0.5, SMOKE_RUN_NOTE, ha="center", va="center", rotation=12, color="tab:red",
            alpha=0.45, fontsize=15, fontweight="bold", zorder=10,
        )  # fmt: skip
    return fig


def to_display(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """A [C,H,W] / [H,W] tensor or array as an [H,W] or [H,W,C] array for ``imshow``."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    return array


def _draw_image(ax: Axes, image: torch.Tensor | np.ndarray, cmap: object) -> AxesImage:
    """``imshow`` without ticks; ``cmap`` applies to single-channel images only."""
    array = to_display(image)
    shown = ax.imshow(array, cmap=cmap if array.ndim == 2 else None)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def show_image(
    image: torch.Tensor | np.ndarray,
    title: str = "",
    colorbar: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """One image, grey for a single channel, with an optional colour bar of pixel values."""
    ax = ax or plt.figure(figsize=(4, 4)).gca()
    shown = _draw_image(ax, image, "gray")
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, label="pixel value")
    ax.set_title(title)
    return ax


def image_grid(
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | torch.Tensor,
    class_names: Sequence[str],
    rows: int = 5,
    cols: int = 5,
    title: str = "",
) -> Figure:
    """A rows × cols grid of images, each labelled with its class name."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2, rows * 2.1))
    for i, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if i < len(images):
            _draw_image(ax, images[i], plt.cm.binary)
            ax.set_title(class_names[int(labels[i])], fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def prediction_panel(
    image: torch.Tensor | np.ndarray,
    probs: torch.Tensor | np.ndarray,
    true_label: int,
    class_names: Sequence[str],
    axes: tuple[Axes, Axes],
) -> None:
    """Image with the predicted class and confidence (blue right, red wrong), and a bar
    chart of all class probabilities: predicted bar red, true bar blue."""
    probs = np.asarray(probs.detach().cpu() if isinstance(probs, torch.Tensor) else probs)
    predicted = int(probs.argmax())
    colour = "tab:blue" if predicted == true_label else "tab:red"
    image_ax, bar_ax = axes
    _draw_image(image_ax, image, plt.cm.binary)
    image_ax.set_xlabel(
        f"{class_names[predicted]} {100 * probs[predicted]:.0f}% ({class_names[true_label]})",
        color=colour,
    )
    bars = bar_ax.bar(range(len(probs)), probs, color="#777777")
    bar_ax.set_ylim(0, 1)
    bar_ax.set_xticks(range(len(probs)))
    bar_ax.set_xticklabels(range(len(probs)), fontsize=7)
    bar_ax.set_ylabel("probability", fontsize=8)
    bars[predicted].set_color("tab:red")
    bars[true_label].set_color("tab:blue")


def prediction_grid(
    images: torch.Tensor | np.ndarray,
    probs: torch.Tensor | np.ndarray,
    labels: Sequence[int] | torch.Tensor,
    class_names: Sequence[str],
    rows: int = 5,
    cols: int = 3,
    title: str = "Predictions: predicted class red, true class blue",
) -> Figure:
    """``rows × cols`` prediction panels (image + probability bars) for the first images."""
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(4 * cols, 2.2 * rows))
    axes = np.atleast_2d(axes)
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        pair = (axes[r, 2 * c], axes[r, 2 * c + 1])
        if i < len(images):
            prediction_panel(images[i], probs[i], int(labels[i]), class_names, pair)
        else:
            pair[0].axis("off")
            pair[1].axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return mark_smoke_run(fig)


def plot_history(
    history: History | Mapping[str, Sequence[float]],
    quantities: Sequence[str] = ("loss",),
    title: str = "Training history",
) -> Figure:
    """One panel per quantity, train and validation curves (``train_<q>``, ``val_<q>``)."""
    fig, axes = plt.subplots(1, len(quantities), figsize=(5 * len(quantities), 3.5), squeeze=False)
    for ax, quantity in zip(axes[0], quantities, strict=True):
        for split in ("train", "val"):
            key = f"{split}_{quantity}"
            try:
                values = history[key]
            except KeyError:
                continue
            ax.plot(range(1, len(values) + 1), values, marker=".", label=split)
        best = getattr(history, "best_epoch", None)
        if best is not None:
            ax.axvline(best, color="grey", linestyle="--", label=f"best epoch {best}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(quantity)
        ax.set_title(quantity)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return mark_smoke_run(fig)
