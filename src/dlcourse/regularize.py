"""Weight penalties added to a loss: L1 (sum of absolute weights) and L2 (sum of squares).

Keras's ``kernel_regularizer=l1(1e-4)`` adds ``1e-4 * sum(|w|)`` of that layer's kernel to the
loss. :func:`penalized` does the same for every weight matrix and convolution kernel of a model
(biases and batch-norm parameters are left alone, as in Keras), during training only, so the
validation loss stays comparable between variants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def penalized_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The weights of every linear and convolution layer (no biases, no norm layers)."""
    return [
        module.weight
        for module in model.modules()
        if isinstance(module, nn.Linear | nn.modules.conv._ConvNd)
    ]


def l1_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """``sum(|w|)`` over all ``params``; its gradient is ``sign(w)``."""
    return sum((p.abs().sum() for p in params), torch.tensor(0.0))


def l2_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """``sum(w²)`` over all ``params`` (Keras's ``l2``; no factor 1/2); gradient ``2 w``."""
    return sum((p.pow(2).sum() for p in params), torch.tensor(0.0))


def penalized(model: nn.Module, loss_fn: LossFn, l1: float = 0.0, l2: float = 0.0) -> LossFn:
    """``loss_fn`` plus ``l1 * sum(|w|) + l2 * sum(w²)`` over the model's weights while the
    model is training; in ``eval()`` mode (validation, tests) just ``loss_fn``."""
    if l1 < 0 or l2 < 0:
        raise ValueError(f"penalty factors must be 0 or more, got l1={l1}, l2={l2}")
    params = penalized_parameters(model)

    def loss_with_penalty(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(output, target)
        if model.training:
            if l1:
                loss = loss + l1 * l1_penalty(params).to(loss.device)
            if l2:
                loss = loss + l2 * l2_penalty(params).to(loss.device)
        return loss

    return loss_with_penalty
