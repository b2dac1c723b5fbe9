"""Data augmentation on whole batches of image tensors, on the batch's own device.

One call transforms a batch ``[N, C, H, W]`` at once (no per-image Python work), so the same
pipeline runs on a CPU or a GPU. The random choices come from the augmenter's own seeded
generator (on the CPU, then moved to the batch's device): the same seed gives the same images
on every device, independent of the global random state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Batch = tuple[torch.Tensor, ...]


def _check_images(images: torch.Tensor) -> None:
    if images.ndim != 4:
        raise ValueError(
            f"expected a batch of images [N, C, H, W], got shape {tuple(images.shape)}; "
            "add a batch dimension with unsqueeze(0) for a single image"
        )


def _draw(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` uniform numbers in [0, 1) from ``generator`` (on the CPU)."""
    return torch.rand(n, generator=generator)


def random_flip(images: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    flip = (_draw(len(images), generator) < p).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_crop(
    images: torch.Tensor, generator: torch.Generator, padding: int = 4, mode: str = "reflect"
) -> torch.Tensor:
    """Pad each image by ``padding`` pixels (``"reflect"``, ``"replicate"`` or ``"constant"``
    zeros) and cut a random window of the original size: a random shift of up to ``padding``
    pixels, exact (no interpolation)."""
    if padding <= 0:
        return images
    n, _, h, w = images.shape
    shifts = torch.randint(0, 2 * padding + 1, (2, n), generator=generator).to(images.device)
    work = images if images.is_floating_point() else images.float()
    padded = F.pad(work, (padding,) * 4, mode=mode)
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)  # [N, C, 2p+1, 2p+1, H, W], a view
    out = windows[torch.arange(n, device=images.device), :, shifts[0], shifts[1]]
    return out.to(images.dtype)


def random_affine(
    images: torch.Tensor,
    generator: torch.Generator,
    degrees: float = 10.0,
    scale: tuple[float, float] = (0.9, 1.1),
    shear: float = 0.0,
) -> torch.Tensor:
    """A random rotation (± ``degrees``), zoom (factor in ``scale``) and horizontal shear
    (± ``shear`` degrees) per image, bilinear, with the borders filled by reflection."""
    n = len(images)
    u = _draw(3 * n, generator).view(3, n)
    angle = torch.deg2rad((2 * u[0] - 1) * degrees)
    zoom = scale[0] + (scale[1] - scale[0]) * u[1]
    skew = torch.tan(torch.deg2rad((2 * u[2] - 1) * shear))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output -> input coordinates: rotate, shear, then divide by the zoom
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = (cos + skew * sin) / zoom
    theta[:, 0, 1] = (-sin + skew * cos) / zoom
    theta[:, 1, 0] = sin / zoom
    theta[:, 1, 1] = cos / zoom
    work = images if images.is_floating_point() else images.float()
    theta = theta.to(device=images.device, dtype=work.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(work, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if not images.is_floating_point():
        out = out.round().clamp(0, 255)
    return out.to(images.dtype)


class BatchAugment:
    """Random flips, crops with padding and (optionally) a small affine transform, applied to
    a whole batch of images ``[N, C, H, W]`` (float or uint8) on its own device.

    >>> augment = BatchAugment(flip=True, crop_padding=4, seed=0)
    >>> augmented = augment(images)                  # same shape, dtype and device
    >>> TensorBatches(x, y, transform=augment.batch)  # augment every training batch

    ``degrees``, ``scale`` and ``shear`` switch the affine step on (all off by default).
    ``reset()`` restarts the random sequence, so two passes with the same seed are identical.
    """

    def __init__(
        self,
        flip: bool = True,
        crop_padding: int = 4,
        degrees: float = 0.0,
        scale: tuple[float, float] = (1.0, 1.0),
        shear: float = 0.0,
        padding_mode: str = "reflect",
        seed: int = 0,
    ) -> None:
        if crop_padding < 0:
            raise ValueError(f"crop_padding must be 0 or more pixels, got {crop_padding}")
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
        self.flip, self.crop_padding, self.padding_mode = flip, crop_padding, padding_mode
        self.degrees, self.scale, self.shear = degrees, scale, shear
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def uses_affine(self) -> bool:
        """Whether the affine step is switched on."""
        return bool(self.degrees or self.shear or self.scale != (1.0, 1.0))

    def reset(self) -> None:
        """Restart the random sequence from the seed."""
        self.generator.manual_seed(self.seed)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images)
        if self.uses_affine:
            images = random_affine(images, self.generator, self.degrees, self.scale, self.shear)
        if self.crop_padding:
            images = random_crop(images, self.generator, self.crop_padding, self.padding_mode)
        if self.flip:
            images = random_flip(images, self.generator)
        return images

    def batch(self, batch: Batch) -> Batch:
        """Augment the images (first tensor) of an ``(images, ..., target)`` batch; the other
        tensors pass unchanged, so labels stay aligned. For ``TensorBatches(transform=...)``."""
        return (self(batch[0]), *batch[1:])

    def __repr__(self) -> str:
        parts = [f"flip={self.flip}", f"crop_padding={self.crop_padding}"]
        if self.uses_affine:
            parts += [f"degrees={self.degrees}", f"scale={self.scale}", f"shear={self.shear}"]
        return f"BatchAugment({', '.join(parts)}, seed={self.seed})"
