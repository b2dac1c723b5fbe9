"""Dice of hard masks, and of logits for ``fit`` (the mitosis notebooks use both).

:func:`dice` takes 0/1 (or boolean) tensors or arrays of the same shape; :func:`dice_metric`
takes logits and 0/1 targets, for ``fit(metrics={...})`` (threshold at logit 0). Notebook
06/00 writes ``dice_metric`` in a cell; the copy here is tested equal to it.
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


def dice(pred: ArrayLike, target: ArrayLike, empty: float = 1.0) -> float:
    """Dice coefficient 2|P∩T| / (|P| + |T|) of the foreground (1) over all pixels given;
    ``empty`` when both are empty."""
    p, t = _bool(pred), _bool(target)
    _check(p, t)
    total = int(p.sum() + t.sum())
    return empty if total == 0 else 2 * int((p & t).sum()) / total


def dice_metric(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Batch Dice of ``logits > 0`` against 0/1 ``target``, a 0-d tensor (for ``fit``)."""
    p, t = logits > 0, target > 0.5
    total = p.sum() + t.sum()
    return torch.where(
        total > 0, 2 * (p & t).sum() / total.clamp(min=1), torch.ones((), device=logits.device)
    )
