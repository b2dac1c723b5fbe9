"""Looking inside convnets: activations through hooks, filter patterns, Grad-CAM.

- :func:`capture` (a context manager) and :func:`activations` record the outputs of named
  layers with forward hooks, and always remove the hooks, also when the forward pass fails.
- :func:`channel_grid` tiles one layer's channels into a single image.
- :func:`filter_pattern` finds the input that excites one channel most, by gradient ascent.
- :func:`grad_cam` computes Grad-CAM (Selvaraju et al., 2017) with a hook and
  ``torch.autograd.grad``; :func:`overlay` draws it over the image.
- :func:`bright_patch_images`, :func:`hit_rate` and :func:`chance_hit_rate` measure Grad-CAM
  on synthetic images whose class is decided only by a small patch, so that the right answer
  is known, and what a random peak would score.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The sub-module called ``name`` (as in ``model.named_modules()``); a clear error otherwise."""
    layers = dict(model.named_modules())
    if name not in layers:
        known = ", ".join(n for n in layers if n) or "(none)"
        raise KeyError(f"{type(model).__name__} has no layer {name!r}; its layers are: {known}")
    return layers[name]


@contextmanager
def capture(
    model: nn.Module, names: Iterable[str], detach: bool = True
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of the layers ``names`` during the forward passes inside the block.

    Yields a dict that fills up as the model runs (the last pass wins). The hooks are removed
    when the block ends, normally or by an exception. With ``detach=False`` the outputs stay in
    the autograd graph (what Grad-CAM needs).
    """
    outputs: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            outputs[name] = output.detach() if detach else output

        return hook

    try:
        for name in names:
            handles.append(find_layer(model, name).register_forward_hook(hook_for(name)))
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def activations(model: nn.Module, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """One forward pass of ``x`` (in eval mode) and the outputs of the layers ``names``."""
    model.eval()
    with capture(model, names) as outputs:
        model(x)
    return dict(outputs)


def channel_grid(
    fmap: torch.Tensor, columns: int = 8, max_channels: int | None = None
) -> np.ndarray:
    """One image's feature map ``[C, H, W]`` as a grid of its channels (each scaled to 0-1,
    separated by a one-pixel gap), ready for ``plt.imshow(..., cmap="viridis")``."""
    if fmap.ndim != 3:
        raise ValueError(f"expected one feature map [C, H, W], got shape {tuple(fmap.shape)}")
    fmap = fmap[:max_channels].float().cpu()
    c, h, w = fmap.shape
    rows = -(-c // columns)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan, dtype=np.float32)
    lo = fmap.amin(dim=(1, 2), keepdim=True)
    hi = fmap.amax(dim=(1, 2), keepdim=True)
    scaled = ((fmap - lo) / (hi - lo).clamp_min(1e-8)).numpy()
    for i in range(c):
        r, col = divmod(i, columns)
        grid[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = scaled[i]
    return grid


class _StopForward(Exception):
    """Raised by a hook to end a forward pass once the layer of interest has run."""


def filter_pattern(
    model: nn.Module,
    layer: str,
    channel: int,
    size: int = 64,
    steps: int = 40,
    step_size: float = 0.1,
    seed: int = 0,
) -> torch.Tensor:
    """The input ``[3, size, size]`` that maximises the mean activation of ``channel`` in ``layer``,
    found by normalised gradient ascent from faint noise (in the model's input scale).

    The forward pass stops at ``layer`` (a hook raises an exception that is caught here), so
    the layers after it cost nothing. The hook is removed afterwards, whatever happens.
    """
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    x = (0.1 * torch.randn(1, 3, size, size, generator=gen)).to(device).requires_grad_(True)
    kept: list[torch.Tensor] = []

    def stop_here(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        kept.append(output)
        raise _StopForward

    handle = find_layer(model, layer).register_forward_hook(stop_here)
    try:
        for _ in range(steps):
            kept.clear()
            with suppress(_StopForward):
                model(x)
            score = kept[0][0, channel].mean()
            (grad,) = torch.autograd.grad(score, x)
            with torch.no_grad():
                x += step_size * grad / (grad.norm() / grad.numel() ** 0.5 + 1e-8)
    finally:
        handle.remove()
    return x.detach()[0].cpu()


def to_display(image: torch.Tensor) -> np.ndarray:
    """A float image ``[3, H, W]`` in any range to ``[H, W, 3]`` in 0-1 (for ``imshow``)."""
    x = image.detach().float().cpu()
    x = (x - x.mean()) / (x.std() + 1e-8) * 0.15 + 0.5  # Chollet's contrast stretch
    return x.clamp(0, 1).permute(1, 2, 0).numpy()


def _class_scores(logits: torch.Tensor, target: torch.Tensor | int | None) -> torch.Tensor:
    """Each image's score for its target class; the predicted class when ``target`` is None.
    One output column (a binary logit) means class 1 is the logit and class 0 its negative."""
    n = logits.shape[0]
    if logits.ndim == 1 or logits.shape[1] == 1:
        logit = logits.reshape(n)
        cls = (logit > 0).long() if target is None else torch.as_tensor(target).expand(n)
        return torch.where(cls.to(logit.device) == 1, logit, -logit)
    cls = logits.argmax(1) if target is None else torch.as_tensor(target).expand(n)
    return logits.gather(1, cls.to(logits.device).view(n, 1)).squeeze(1)


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    layer: str,
    target: torch.Tensor | int | None = None,
    upsample: bool = True,
) -> torch.Tensor:
    """Grad-CAM heat maps ``[N, H, W]`` in 0-1 for the images ``x`` ``[N, 3, H, W]``.

    The feature maps ``A`` of ``layer`` are weighted by the mean gradient of the class score
    over each map, summed, passed through ReLU, scaled to 0-1 per image and (``upsample``)
    bilinearly resized to the input size. ``target``: a class index (for all images or one per
    image); None explains the predicted class.
    """
    model.eval()
    x = x.detach().requires_grad_(False)
    with torch.enable_grad(), capture(model, [layer], detach=False) as outputs:
        logits = model(x)
        fmaps = outputs[layer]
        (grads,) = torch.autograd.grad(_class_scores(logits, target).sum(), fmaps)
    weights = grads.mean(dim=(2, 3), keepdim=True)  # one weight per channel and image
    cam = F.relu((weights * fmaps).sum(1)).detach()
    if upsample:
        cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
        cam = cam[:, 0]
    hi = cam.flatten(1).amax(1).clamp_min(1e-8).view(-1, 1, 1)
    return (cam / hi).cpu()


def overlay(image: np.ndarray | torch.Tensor, cam: torch.Tensor, alpha: float = 0.45) -> np.ndarray:
    """The image (``[H, W, 3]`` uint8 or 0-1 float, or ``[3, H, W]``) with the heat map ``cam``
    (``[h, w]`` in 0-1, resized to the image) blended over it in the ``jet`` colour map."""
    import matplotlib

    img = torch.as_tensor(np.asarray(image)).float()
    if img.shape[0] == 3 and img.shape[-1] != 3:
        img = img.permute(1, 2, 0)
    img = img / 255 if img.max() > 1 else img
    h, w = img.shape[:2]
    heat = F.interpolate(cam[None, None].float(), size=(h, w), mode="bilinear")[0, 0]
    colored = matplotlib.colormaps["jet"](heat.clamp(0, 1).numpy())[..., :3]
    return np.clip((1 - alpha) * img.numpy() + alpha * colored, 0, 1)


# ---- a test whose answer is known -----------------------------------------------------------


def bright_patch_images(
    n: int, size: int = 32, patch: int = 6, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` noisy grey images ``[n, 3, size, size]`` (float, about 0-1), each with one bright
    ``patch`` x ``patch`` square at a random position: red for class 0, green for class 1.

    Only the patch tells the classes apart. Returns images, labels ``[n]`` and the patches'
    boxes ``[n, 4]`` as (top, left, bottom, right), bottom/right exclusive.
    """
    gen = torch.Generator().manual_seed(seed)
    images = 0.35 + 0.15 * torch.rand(n, 1, size, size, generator=gen).expand(n, 3, size, size)
    images = images + 0.05 * torch.randn(n, 3, size, size, generator=gen)
    labels = torch.randint(0, 2, (n,), generator=gen)
    top = torch.randint(0, size - patch + 1, (n,), generator=gen)
    left = torch.randint(0, size - patch + 1, (n,), generator=gen)
    for i in range(n):
        t, lft = int(top[i]), int(left[i])
        colour = torch.tensor([1.0, 0.3, 0.3]) if labels[i] == 0 else torch.tensor([0.3, 1.0, 0.3])
        images[i, :, t : t + patch, lft : lft + patch] = colour.view(3, 1, 1)
    boxes = torch.stack([top, left, top + patch, left + patch], dim=1)
    return images, labels, boxes


def hit_rate(cams: torch.Tensor, boxes: torch.Tensor) -> float:
    """The fraction of heat maps ``[N, H, W]`` whose maximum lies inside the image's box."""
    n, _, w = cams.shape
    flat = cams.reshape(n, -1).argmax(1)
    rows, cols = flat // w, flat % w
    inside = (
        (rows >= boxes[:, 0]) & (rows < boxes[:, 2]) & (cols >= boxes[:, 1]) & (cols < boxes[:, 3])
    )
    return float(inside.float().mean())


def chance_hit_rate(boxes: torch.Tensor, height: int, width: int) -> float:
    """The hit rate of heat maps whose maximum falls on a uniformly random pixel: the mean
    share of the ``height`` x ``width`` image that each box (top, left, bottom, right) covers."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return float(areas.float().mean() / (height * width))
