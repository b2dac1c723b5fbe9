"""Augmentation applied to images and masks together, and test-time augmentation.

The eight *dihedral* transforms (four 90° rotations, each with or without a mirror flip)
move every pixel of an image and its mask in the same way, so the mask stays aligned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

ALL = tuple(range(8))
MIRROR_ONLY = (0, 4)  # identity and the left-right mirror: up stays up


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Transform ``k`` (0-7) of the last two dimensions: rotate by ``k % 4`` quarter turns,
    then mirror left-right when ``k >= 4``."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`dihedral` ``k``."""
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


def _checked(transforms: Sequence[int]) -> tuple[int, ...]:
    ks = tuple(int(k) for k in transforms)
    if not ks or any(not 0 <= k < 8 for k in ks):
        raise ValueError(f"transforms must be a non-empty choice of 0-7, got {transforms!r}")
    return ks


class PairedAugment:
    """Random dihedral transform per sample, applied to image and mask alike, plus a small
    random contrast (``1 ± contrast``) and brightness (``± brightness``) change of the image.

    Call it on a batch ``(images [N, C, H, W], masks [N, K, H, W])`` of float images; it
    returns the augmented pair. ``transforms`` are the dihedral transforms drawn from (all 8 by
    default; ``MIRROR_ONLY`` keeps up and down where they are, for labels that are not drawn
    symmetrically). Square images are needed for 90° rotations (patches are).
    """

    def __init__(
        self,
        contrast: float = 0.1,
        brightness: float = 0.1,
        seed: int = 0,
        transforms: Sequence[int] = ALL,
    ) -> None:
        self.contrast, self.brightness = contrast, brightness
        self.transforms = torch.tensor(_checked(transforms))
        self.rotates = bool((self.transforms % 2 == 1).any())  # odd quarter turns: 1, 3, 5, 7
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        images, masks = batch
        if self.rotates and images.shape[-1] != images.shape[-2]:
            raise ValueError(f"PairedAugment needs square images, got {tuple(images.shape)}")
        n, g = len(images), self.generator
        ks = self.transforms[torch.randint(0, len(self.transforms), (n,), generator=g)]
        images = torch.stack([dihedral(im, int(k)) for im, k in zip(images, ks, strict=True)])
        masks = torch.stack([dihedral(m, int(k)) for m, k in zip(masks, ks, strict=True)])
        shape = (n,) + (1,) * (images.ndim - 1)
        gain = 1 + self.contrast * (2 * torch.rand(shape, generator=g) - 1)
        shift = self.brightness * (2 * torch.rand(shape, generator=g) - 1)
        mean = images.mean(dim=(-2, -1), keepdim=True)
        images = (images - mean) * gain.to(images.device) + mean + shift.to(images.device)
        return images, masks


@torch.no_grad()
def predict_tta(
    predict: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    transforms: int | Sequence[int] = 8,
) -> torch.Tensor:
    """Mean of ``predict`` over dihedral transforms of ``images``: the first ``transforms`` when
    it is a number, else those listed (square or not for 0, 2, 4, 6; rotations by 90° of
    non-square images give other shapes, which ``predict`` must accept, e.g. a U-Net or a
    tiled prediction)."""
    ks = range(transforms) if isinstance(transforms, int) else _checked(transforms)
    total = None
    for k in ks:
        out = undo_dihedral(predict(dihedral(images, k)), k)
        total = out if total is None else total + out
    return total / len(ks)
