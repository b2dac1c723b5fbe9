"""Losses for binary segmentation on logits: soft Dice, and BCE + Dice.

Notebook 06/00 writes both in its cells; these copies (used by the mitosis notebooks) are tested
equal to them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 − soft Dice of ``sigmoid(logits)`` against 0/1 ``target`` (same shape), per image,
    averaged over the batch. ``eps`` smooths images with little foreground."""
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    prob = torch.sigmoid(logits).flatten(1)
    target = target.float().flatten(1)
    overlap = (prob * target).sum(1)
    dice = (2 * overlap + eps) / (prob.sum(1) + target.sum(1) + eps)
    return 1 - dice.mean()


class BCEDiceLoss(nn.Module):
    """``bce_weight · BCEWithLogits + dice_weight · soft Dice loss`` for 0/1 masks.

    ``pos_weight`` (> 1) makes errors on the foreground class cost more in the BCE term,
    e.g. for thin structures such as membranes.
    """

    def __init__(
        self, bce_weight: float = 1.0, dice_weight: float = 1.0, pos_weight: float | None = None
    ) -> None:
        super().__init__()
        self.bce_weight, self.dice_weight = bce_weight, dice_weight
        self.register_buffer(
            "pos_weight", torch.tensor(pos_weight) if pos_weight is not None else None
        )

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.to(logits.dtype)
        bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=self.pos_weight)
        return self.bce_weight * bce + self.dice_weight * soft_dice_loss(logits, target)
