"""Sub-pixel shifts: move hand labels onto the structures they mark, and predictions back."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF


def shift(x: torch.Tensor, dy: float, dx: float) -> torch.Tensor:
    """Move float images [N, C, H, W] ``dy`` rows down and ``dx`` columns right.

    Fractions of a pixel interpolate linearly between neighbours (torchvision's ``affine``);
    the strip uncovered at an edge repeats the edge pixels instead of filling it with zeros.
    """
    if x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"expected float images [N, C, H, W], got {x.dtype} {tuple(x.shape)}")
    if not (math.isfinite(dy) and math.isfinite(dx)):
        raise ValueError(f"the shift must be finite, got dy={dy}, dx={dx}")
    height, width = x.shape[-2:]
    if abs(dy) >= height or abs(dx) >= width:
        raise ValueError(f"a shift of ({dy}, {dx}) moves the {height}×{width} images out of view")
    pad = math.ceil(max(abs(dy), abs(dx))) + 1
    padded = F.pad(x, [pad] * 4, mode="replicate")
    moved = TF.affine(
        padded,
        angle=0.0,
        translate=[dx, dy],
        scale=1.0,
        shear=[0.0, 0.0],
        interpolation=InterpolationMode.BILINEAR,
    )
    return moved[..., pad:-pad, pad:-pad]
