"""U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections.

The blocks carry the names of the course's original notebooks: ``DoubleConv``, ``Down``,
``Up`` and ``OutConv``. :class:`UNet` accepts any input size: it pads the input (by
reflection) up to a multiple of ``2**depth`` and crops the output back to the input's size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Module):
    """(3×3 convolution → batch norm → ReLU) twice; keeps the height and width."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Down(nn.Module):
    """2×2 max pooling (halves height and width), then :class:`DoubleConv`."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


class Up(nn.Module):
    """Upsample ×2, concatenate the encoder's feature map of that level, :class:`DoubleConv`.

    ``bilinear=True`` upsamples by interpolation (no weights) and halves the channels with a
    1×1 convolution; ``False`` uses a learned 2×2 transposed convolution.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, bilinear: bool):
        super().__init__()
        half = in_channels // 2
        if bilinear:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, half, 1),
            )
        else:
            self.up = nn.ConvTranspose2d(in_channels, half, 2, stride=2)
        self.conv = DoubleConv(half + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
        if dh or dw:  # odd sizes inside the network: pad to the skip connection's size
            x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class OutConv(nn.Module):
    """1×1 convolution to one logit per class and pixel."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """U-Net: ``depth`` down-sampling steps, channel widths ``width · 2**level``.

    Input [N, in_channels, H, W] of any H, W; output [N, out_channels, H, W] logits.
    The original U-Net is ``UNet(1, 2, width=64, depth=4, bilinear=False)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        width: int = 16,
        depth: int = 3,
        bilinear: bool = True,
    ) -> None:
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"UNet needs depth >= 1 and width >= 1, got {depth=} and {width=}")
        self.depth = depth
        widths = [width * 2**level for level in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0])
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i], widths[i], bilinear) for i in reversed(range(depth))
        )
        self.outc = OutConv(widths[0], out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"UNet expects a batch [N, C, H, W], got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, 2**self.depth)
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        return self.outc(y)[..., :h, :w]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the last two dimensions at the bottom/right up to a multiple of ``multiple``
    (by reflection where the image is large enough, else by replication)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, [0, pw, 0, ph], mode=mode)
