"""The learning-rate range test (Smith, 2017; fast.ai's ``lr_find``): train for one short sweep
while the learning rate grows exponentially, and record the loss at every step.

The loss first stays flat (the rate is too small to matter), then falls, then explodes. A good
maximum rate for a one-cycle schedule lies where the loss still falls steeply, well before
the minimum: :class:`LRFinderResult` suggests one and plots the curve. The model's weights and
the optimizer's state are restored afterwards, so the sweep leaves no trace.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class LRFinderResult:
    """Learning rates tried, the raw and smoothed loss at each, and the suggested rates."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray

    @property
    def min_loss_lr(self) -> float:
        """The rate where the smoothed loss is lowest (too high to train at: it is the edge)."""
        return float(self.lrs[int(np.argmin(self.smoothed))])

    @property
    def steepest_lr(self) -> float:
        """The rate where the smoothed loss falls fastest (per decade), before its minimum."""
        stop = max(int(np.argmin(self.smoothed)), 2)
        slope = np.gradient(self.smoothed[:stop], np.log10(self.lrs[:stop]))
        return float(self.lrs[int(np.argmin(slope))])

    @property
    def suggestion(self) -> float:
        """A maximum rate for one-cycle: a tenth of the minimum's rate (fast.ai's rule)."""
        return self.min_loss_lr / 10

    def plot(self, ax: Axes | None = None, title: str = "Learning-rate finder") -> Axes:
        """Loss against learning rate (log scale), with the suggested and minimum rates."""
        ax = ax or plt.figure(figsize=(6, 3.5)).gca()
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss per step")
        ax.plot(self.lrs, self.smoothed, label="smoothed")
        ax.axvline(self.min_loss_lr, color="grey", linestyle=":", label="minimum")
        ax.axvline(self.suggestion, color="tab:red", linestyle="--", label="minimum / 10")
        ax.set_xscale("log")
        top = self.smoothed[0] * 1.5 if self.smoothed[0] > 0 else None
        ax.set_ylim(min(self.losses.min(), self.smoothed.min()) * 0.9, top)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_title(title)
        ax.legend()
        return ax


def lr_find(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, ...]],
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    steps: int = 100,
    smoothing: float = 0.9,
    diverge: float = 4.0,
) -> LRFinderResult:
    """Train ``model`` for up to ``steps`` batches with the rate growing from ``start_lr`` to
    ``end_lr`` geometrically; stop early once the smoothed loss exceeds ``diverge`` times its
    best. ``batches`` yields ``(inputs..., target)`` and is cycled if shorter than ``steps``.
    Weights and optimizer state are restored at the end."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if steps < 5:
        raise ValueError(f"steps must be at least 5 for a usable curve, got {steps}")
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    device = next(model.parameters()).device
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    lrs, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    was_training = model.training
    model.train()
    try:
        step = 0
        while step < steps:
            empty = True
            for batch in batches:
                empty = False
                lr = start_lr * factor**step
                for group in optimizer.param_groups:
                    group["lr"] = lr
                *inputs, target = (t.to(device) for t in batch)
                loss = loss_fn(model(*inputs), target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                value = float(loss.detach())
                average = smoothing * average + (1 - smoothing) * value
                debiased = average / (1 - smoothing ** (step + 1))
                lrs.append(lr)
                losses.append(value)
                smoothed.append(debiased)
                best = min(best, debiased)
                step += 1
                if step >= steps or not math.isfinite(value) or debiased > diverge * best:
                    step = steps
                    break
            if empty:
                raise ValueError("lr_find got no batches: the data is empty")
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    return LRFinderResult(np.array(lrs), np.array(losses), np.array(smoothed))
