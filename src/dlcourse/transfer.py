"""Transfer-learning helpers: nested training subsets, frozen parts, features cached on disk.

A frozen part of a network (``requires_grad=False``, batch norm in eval mode) is a fixed
function, so its outputs can be computed once and kept: :func:`cached_features` stores them
under ``<data directory>/cache/features/`` and later runs (and other notebooks using the same
backbone, image size and images) load them in a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from dlcourse.atomic import atomic_file
from dlcourse.config import data_dir, show_progress


def nested_subsets(
    labels: torch.Tensor, sizes: Sequence[int], seed: int = 0
) -> dict[int, torch.Tensor]:
    """Class-balanced index sets of each size, each one containing the smaller ones
    (so that a learning curve adds images instead of drawing new ones)."""
    gen = torch.Generator().manual_seed(seed)
    classes = labels.unique()
    per_class = [
        (labels == c).nonzero().flatten()[torch.randperm(int((labels == c).sum()), generator=gen)]
        for c in classes
    ]
    subsets = {}
    for n in sorted(sizes):
        k = n // len(classes)
        if k > min(len(p) for p in per_class):
            raise ValueError(f"a balanced subset of {n} needs {k} images of every class")
        subsets[n] = torch.cat([p[:k] for p in per_class])
    return subsets


def freeze(module: nn.Module) -> nn.Module:
    """No gradients for ``module``'s parameters, and batch norm in eval mode (running statistics
    used and not updated). Returns the module."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


class KeepFrozenBatchNormEval(nn.Module):
    """Wraps a model so that ``model.train()`` (which ``fit`` calls every epoch) leaves the batch
    norm layers of frozen parts, those whose parameters need no gradient, in eval mode."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.model(*args)

    def train(self, mode: bool = True) -> KeepFrozenBatchNormEval:
        super().train(mode)
        for m in self.model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(
                p.requires_grad for p in m.parameters()
            ):
                m.eval()
        return self


@torch.inference_mode()
def extract(
    module: nn.Module,
    images: torch.Tensor,
    prepare: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int = 100,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``module(prepare(batch))`` for every batch of ``images``, concatenated on the CPU.

    ``prepare`` turns a batch of stored images (e.g. uint8 32 x 32) into the network's input
    (resized, normalised). Runs on the device of ``module``, in channels-last memory layout.
    """
    from tqdm.auto import tqdm

    module.eval()
    device = next(module.parameters()).device
    out = []
    starts = range(0, len(images), batch_size)
    for i in tqdm(starts, desc="features", disable=not show_progress(), leave=False):
        x = prepare(images[i : i + batch_size].to(device))
        out.append(module(x.contiguous(memory_format=torch.channels_last)).to("cpu", dtype))
    return torch.cat(out)


def cache_path(name: str, images: torch.Tensor) -> Path:
    """``<data directory>/cache/features/<name>-<hash of the images>.pt``."""
    digest = hashlib.sha1(images.contiguous().cpu().numpy().tobytes()).hexdigest()[:12]
    return data_dir() / "cache" / "features" / f"{name}-{digest}.pt"


def cached_features(
    name: str, images: torch.Tensor, compute: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``compute(images)``, saved on disk the first time and loaded afterwards.

    ``name`` must say everything the result depends on besides the images (backbone, weights,
    image size, layer); the file name adds a hash of the images. Delete the folder
    ``<data directory>/cache/features`` to recompute.
    """
    path = cache_path(name, images)
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a damaged cache is recomputed, never trusted
            print(f"ignoring the unreadable feature cache {path} ({err}); recomputing it")
    features = compute(images)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        torch.save(features, tmp)
    return features


def parameter_count(module: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (only those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
