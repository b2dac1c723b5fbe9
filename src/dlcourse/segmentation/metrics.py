"""Segmentation scores on hard masks: pixel accuracy, Dice and IoU (per class).

The functions take 0/1 (or boolean) tensors or arrays of the same shape. The ``*_metric``
versions take logits and 0/1 targets, for ``fit(metrics={...})`` (threshold at logit 0).
"""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray


def _bool(x: ArrayLike) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x if x.dtype == torch.bool else x > 0.5


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")


def pixel_accuracy(pred: ArrayLike, target: ArrayLike) -> float:
    """Share of pixels where the 0/1 prediction equals the target."""
    p, t = _bool(pred), _bool(target)
    _check(p, t)
    return float((p == t).float().mean())


def dice(pred: ArrayLike, target: ArrayLike, empty: float = 1.0) -> float:
    """Dice coefficient 2|P∩T| / (|P| + |T|) of the foreground (1) over all pixels given;
    ``empty`` when both are empty."""
    p, t = _bool(pred), _bool(target)
    _check(p, t)
    total = int(p.sum() + t.sum())
    return empty if total == 0 else 2 * int((p & t).sum()) / total


def iou(pred: ArrayLike, target: ArrayLike, empty: float = 1.0) -> float:
    """Intersection over union |P∩T| / |P∪T| of the foreground; ``empty`` when both are empty."""
    p, t = _bool(pred), _bool(target)
    _check(p, t)
    union = int((p | t).sum())
    return empty if union == 0 else int((p & t).sum()) / union


def per_class_scores(
    pred: ArrayLike, target: ArrayLike, names: tuple[str, str] = ("background", "foreground")
) -> dict[str, float]:
    """Pixel accuracy, and Dice and IoU of both classes of a 0/1 mask, e.g.
    ``{"pixel_accuracy": …, "foreground_dice": …, "background_iou": …}``."""
    p, t = _bool(pred), _bool(target)
    scores = {"pixel_accuracy": pixel_accuracy(p, t)}
    for name, (a, b) in zip(names, ((~p, ~t), (p, t)), strict=True):
        scores[f"{name}_dice"] = dice(a, b)
        scores[f"{name}_iou"] = iou(a, b)
    return scores


def dice_metric(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Batch Dice of ``logits > 0`` against 0/1 ``target``, a 0-d tensor (for ``fit``)."""
    p, t = logits > 0, target > 0.5
    total = p.sum() + t.sum()
    return torch.where(
        total > 0, 2 * (p & t).sum() / total.clamp(min=1), torch.ones((), device=logits.device)
    )


def pixel_accuracy_metric(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Share of pixels where ``logits > 0`` equals the 0/1 ``target`` (for ``fit``)."""
    return ((logits > 0) == (target > 0.5)).float().mean()
