"""Transfer-learning helpers: nested training subsets, features cached on disk, and the
fixed-step training that compares pretrained and randomly initialised networks.

:func:`train_for_steps` is a copy of the function written in notebook
``03_Advanced_CNN/00_densenet_architecture`` (``tests/test_cells_03_00.py`` keeps them equal);
notebook ``05_Transfer_Learning/00`` uses it.

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
import torch.nn.functional as F
from torch import nn

from dlcourse.atomic import atomic_file
from dlcourse.augment import BatchAugment
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


def train_for_steps(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
) -> nn.Module:
    """Train every layer of ``net`` for exactly ``steps`` optimizer steps on the images ``x``
    (float, normalised) and 0/1 labels ``y``: AdamW with weight decay 0.05, a one-cycle schedule
    peaking at ``lr``, random flips and shifts of up to 1/8 of the side, binary cross-entropy on
    one logit. Returns ``net`` in eval mode."""
    device = next(net.parameters()).device
    net.to(memory_format=torch.channels_last)
    order_gen = torch.Generator().manual_seed(seed)
    augment = BatchAugment(flip=True, crop_padding=x.shape[-1] // 8, seed=seed)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    net.train()
    order = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        if len(order) < batch_size:  # the next pass over the images, in a new random order
            order = torch.cat([order, torch.randperm(len(x), generator=order_gen)])
        idx, order = order[:batch_size], order[batch_size:]
        images = augment(x[idx].to(device)).contiguous(memory_format=torch.channels_last)
        loss = F.binary_cross_entropy_with_logits(net(images).flatten(), y[idx].float().to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return net.eval()


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
