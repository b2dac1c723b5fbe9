"""CIFAR-10 cat-vs-dog networks: the Keras course's model1 and a compact residual model2. Every
model returns one logit per image, shape ``[N]``."""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (what Keras's ``summary()`` calls trainable params)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class Model1(nn.Module):
    """The Keras original, layer for layer: Conv 32 3×3 → Conv 64 3×3 → MaxPool 2 →
    Dropout 0.25 → Flatten → Dense 256 → Dense 128 → Dropout 0.5 → Dense 1 (3,263,937
    parameters). Convolutions use Keras's default ``padding="valid"``; the output is a logit."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3), nn.ReLU(),  # 32 -> 30
            nn.Conv2d(32, 64, 3), nn.ReLU(),  # 30 -> 28
            nn.MaxPool2d(2), nn.Dropout(0.25),  # 28 -> 14
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 14 * 14, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).squeeze(1)


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    """3×3 convolution (no bias: batch norm has one) → batch norm → ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


class Residual(nn.Module):
    """``x + block(x)``: the block learns a correction to its input (a ResNet shortcut)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Model2(nn.Module):
    """A compact ResNet: the layout of the fast "ResNet-9" CIFAR-10 networks, whose channels
    run from 64 to 512, at ``width`` (``width=32``: 32 to 256 channels, half the width and a
    quarter of the parameters; ``width=64`` is ResNet-9's width):
    conv → [conv, pool, residual] → [conv, pool] → [conv, pool, residual] → global average
    pooling → one logit. With ``width=32`` it has 8 convolutions on the main path and
    1,643,809 parameters, half of model1's; batch norm after every convolution."""

    def __init__(self, width: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn(3, w),  # 32×32
            conv_bn(w, 2 * w), nn.MaxPool2d(2), Residual(2 * w),  # 16×16
            conv_bn(2 * w, 4 * w), nn.MaxPool2d(2),  # 8×8
            conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), Residual(8 * w),  # 4×4
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
