"""Batch metrics for the engine: each returns the batch mean as a 0-d tensor."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

MetricFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Metrics = dict[str, MetricFn] | Sequence[str]


def accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Class accuracy from logits.

    Multi-class: ``output`` [N, C, ...] against integer ``target`` [N, ...] (argmax).
    Binary: ``output`` and ``target`` of the same shape, logits against 0/1 (threshold 0).
    """
    if output.shape == target.shape:
        return ((output > 0) == (target > 0.5)).float().mean()
    return (output.argmax(dim=1) == target).float().mean()


def mae(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (output.reshape(target.shape) - target).abs().mean()


def mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error."""
    return (output.reshape(target.shape) - target).pow(2).mean()


METRICS: dict[str, MetricFn] = {"accuracy": accuracy, "mae": mae, "mse": mse}


def resolve(metrics: Metrics) -> dict[str, MetricFn]:
    """Turn metric names (or a name → function dict) into a name → function dict."""
    if isinstance(metrics, dict):
        return dict(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(METRICS)}, or pass a dict")
    return {name: METRICS[name] for name in metrics}
