"""Keras defaults that differ from PyTorch's, written out so that notebooks can measure them.

Each function states one Keras rule in a few lines of PyTorch; ``tests/test_keras_defaults.py``
checks every one against the installed ``keras`` package.

- ``validation_split``: Keras keeps the first ``floor(n * (1 - split))`` rows for training and
  validates on the rest, the *last* rows, before any shuffling.
- ``keras_init_``: Keras's ``Dense`` and ``Conv2D`` start with Glorot-uniform weights and zero
  biases; PyTorch's ``Linear`` and ``Conv2d`` draw weights *and* biases from U(±1/√fan_in).
- ``keras_embedding_init_``: Keras's ``Embedding`` starts its vectors in U(±0.05); PyTorch's
  ``nn.Embedding`` draws them from N(0, 1) (mean absolute value 0.80 against 0.025).
- ``adam_first_step`` / ``rmsprop_first_step``: the same epsilon enters the two libraries'
  updates at different places (Adam: Keras adds it before the bias correction; RMSprop: Keras
  adds it inside the square root), so ``eps=1e-7`` in PyTorch does not reproduce Keras.
- ``KerasRMSprop``: Keras's RMSprop as a PyTorch optimizer, for exact reproductions.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import nn


def validation_split(n: int, split: float) -> tuple[int, int]:
    """Rows ``(n_train, n_val)`` that ``keras.Model.fit(validation_split=split)`` uses.

    Keras trains on rows ``[:n_train]`` and validates on ``[n_train:]`` with
    ``n_train = floor(n * (1.0 - split))``: 404 rows with ``split=0.2`` give 323 and 81.
    """
    if not 0.0 < split < 1.0:
        raise ValueError(f"validation_split must be between 0 and 1 (exclusive), got {split}")
    n_train = int(math.floor(n * (1.0 - split)))
    if n_train in (0, n):
        raise ValueError(
            f"{n} rows cannot be split with validation_split={split}: one part would be empty"
        )
    return n_train, n - n_train


KERAS_EMBEDDING_BOUND = 0.05  # keras.layers.Embedding(embeddings_initializer="uniform")
_Embedding = TypeVar("_Embedding", nn.Embedding, nn.EmbeddingBag)


def keras_embedding_init_(layer: _Embedding) -> _Embedding:
    """Start the vectors of ``layer`` in U(±0.05), as Keras's ``Embedding`` does; the
    ``padding_idx`` row, if any, stays zero (PyTorch's rule for padding)."""
    nn.init.uniform_(layer.weight, -KERAS_EMBEDDING_BOUND, KERAS_EMBEDDING_BOUND)
    if layer.padding_idx is not None:
        with torch.no_grad():
            layer.weight[layer.padding_idx].zero_()
    return layer


def keras_init_(model: nn.Module) -> nn.Module:
    """Give every ``Linear``, ``Conv*d`` and embedding Keras's start: Glorot-uniform weights and
    zero biases, embedding vectors in U(±0.05)."""
    for layer in model.modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Embedding | nn.EmbeddingBag):
            keras_embedding_init_(layer)
    return model


def adam_first_step(
    grad: torch.Tensor,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-7,
) -> dict[str, torch.Tensor]:
    """How far one Adam step moves a parameter with gradient ``grad``, by each library's rule.

    PyTorch: ``lr * m̂ / (√v̂ + eps)`` with bias-corrected ``m̂, v̂``. Keras:
    ``lr·√(1-β₂)/(1-β₁) · m / (√v + eps)`` with the raw moments, which is PyTorch's rule with
    ``eps / √(1-β₂ᵗ)`` in place of ``eps``: about 32 times larger at the first step.
    """
    b1, b2 = betas
    m, v = (1 - b1) * grad, (1 - b2) * grad**2
    pytorch = lr * (m / (1 - b1)) / ((v / (1 - b2)).sqrt() + eps)
    keras = lr * math.sqrt(1 - b2) / (1 - b1) * m / (v.sqrt() + eps)
    return {"pytorch": pytorch, "keras": keras}


def rmsprop_first_step(
    grad: torch.Tensor, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7
) -> dict[str, torch.Tensor]:
    """How far one RMSprop step moves a parameter with gradient ``grad``, by each library's rule.

    PyTorch (``alpha=rho``): ``lr · g / (√v + eps)``. Keras: ``lr · g / √(v + eps)``; with
    ``eps=1e-7`` that acts like a PyTorch epsilon near √1e-7 ≈ 3e-4 when gradients are small.
    """
    v = (1 - rho) * grad**2
    return {"pytorch": lr * grad / (v.sqrt() + eps), "keras": lr * grad / (v + eps).sqrt()}


class _OneParameterAtATime(torch.optim.Optimizer):
    """An optimizer whose rule updates each parameter on its own (``_update``, in subclasses)."""

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, self.state[p], group)
        return loss

    def _update(self, p: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError


class KerasRMSprop(_OneParameterAtATime):
    """RMSprop with Keras's update rule, to reproduce a Keras recipe exactly.

    ``v ← ρ v + (1 − ρ) g²`` and ``w ← w − lr · g / √(v + ε)``, with Keras's defaults
    ``rho=0.9``, ``epsilon=1e-7`` (no momentum, not centred). ``torch.optim.RMSprop`` divides
    by ``√v + ε`` instead; see :func:`rmsprop_first_step`.
    """

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7) -> None:
        if lr <= 0 or not 0 <= rho < 1 or eps < 0:
            raise ValueError(f"need lr > 0, 0 <= rho < 1, eps >= 0; got {lr}, {rho}, {eps}")
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps})

    def _update(self, p: torch.Tensor, state: dict, group: dict) -> None:
        if "velocity" not in state:
            state["velocity"] = torch.zeros_like(p)
        v = state["velocity"]
        v.mul_(group["rho"]).addcmul_(p.grad, p.grad, value=1 - group["rho"])
        p.addcdiv_(p.grad, (v + group["eps"]).sqrt(), value=-group["lr"])


class KerasAdam(_OneParameterAtATime):
    """Adam with Keras's update rule, to reproduce a Keras recipe exactly.

    At step ``t``: ``m ← β₁ m + (1 − β₁) g``, ``v ← β₂ v + (1 − β₂) g²`` and
    ``w ← w − lr · √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)``, with Keras's defaults ``β₁=0.9``,
    ``β₂=0.999``, ``epsilon=1e-7`` (no amsgrad, no weight decay). ``torch.optim.Adam`` adds
    ``ε`` after the bias correction instead; see :func:`adam_first_step`.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
    ) -> None:
        if lr <= 0 or not all(0 <= b < 1 for b in betas) or eps < 0:
            raise ValueError(f"need lr > 0, 0 <= betas < 1, eps >= 0; got {lr}, {betas}, {eps}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    def _update(self, p: torch.Tensor, state: dict, group: dict) -> None:
        b1, b2 = group["betas"]
        if not state:
            state["step"] = 0
            state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        m.mul_(b1).add_(p.grad, alpha=1 - b1)
        v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
        alpha = group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t)
        p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-alpha)
