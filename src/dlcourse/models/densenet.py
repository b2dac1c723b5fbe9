"""DenseNet from its three parts: dense layer, dense block, transition (Huang et al., 2017).

- :class:`DenseLayer`: BN -> ReLU -> 1x1 conv (``bn_size * k`` channels) -> BN -> ReLU -> 3x3
  conv (``k`` channels, the *growth rate*); its input is every earlier feature map, concatenated.
- :class:`DenseBlock`: ``n`` dense layers; each adds ``k`` channels to what it received.
- :class:`Transition`: BN -> ReLU -> 1x1 conv (compression, halves the channels) -> 2x2 average
  pool (halves the size).

:func:`densenet121` assembles DenseNet-121 with torchvision's module names, so that torchvision's
``state_dict`` loads into it unchanged; :func:`densenet_bc` builds small DenseNet-BCs for
32 x 32 images.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class DenseLayer(nn.Module):
    """BN -> ReLU -> 1x1 conv -> BN -> ReLU -> 3x3 conv, giving ``growth`` new channels."""

    def __init__(self, cin: int, growth: int, bn_size: int = 4, dropout: float = 0.0):
        super().__init__()
        mid = bn_size * growth  # the 1x1 "bottleneck" keeps the 3x3 conv cheap
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(mid, growth, 3, padding=1, bias=False)
        self.dropout = dropout

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)  # everything the block has computed so far
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        return F.dropout(x, self.dropout, self.training) if self.dropout else x


class DenseBlock(nn.ModuleDict):
    """``layers`` dense layers; the output concatenates the input and every layer's ``growth``
    channels: ``cin + layers * growth`` channels."""

    def __init__(self, layers: int, cin: int, growth: int, bn_size: int = 4, dropout: float = 0.0):
        super().__init__()
        for i in range(layers):
            self[f"denselayer{i + 1}"] = DenseLayer(cin + i * growth, growth, bn_size, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN -> ReLU -> 1x1 conv to ``cout`` channels -> 2x2 average pooling."""

    def __init__(self, cin: int, cout: int):
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(cin),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(cin, cout, 1, bias=False),
                pool=nn.AvgPool2d(2, stride=2),
            )
        )


class DenseNet(nn.Module):
    """A stem, dense blocks separated by transitions, a final BN, global pooling, a classifier.

    ``stem="imagenet"``: 7x7 conv stride 2 + 3x3 max pool (torchvision's); ``"cifar"``: one 3x3
    conv, for 32 x 32 images. ``compression`` is the fraction of channels a transition keeps.
    """

    def __init__(
        self,
        blocks: Sequence[int] = (6, 12, 24, 16),
        growth: int = 32,
        init_channels: int = 64,
        bn_size: int = 4,
        compression: float = 0.5,
        num_classes: int = 1000,
        stem: str = "imagenet",
        dropout: float = 0.0,
    ):
        super().__init__()
        if stem == "imagenet":
            layers = OrderedDict(
                conv0=nn.Conv2d(3, init_channels, 7, stride=2, padding=3, bias=False),
                norm0=nn.BatchNorm2d(init_channels),
                relu0=nn.ReLU(inplace=True),
                pool0=nn.MaxPool2d(3, stride=2, padding=1),
            )
        elif stem == "cifar":
            layers = OrderedDict(conv0=nn.Conv2d(3, init_channels, 3, padding=1, bias=False))
        else:
            raise ValueError(f"stem must be 'imagenet' or 'cifar', not {stem!r}")
        channels = init_channels
        for i, n in enumerate(blocks, start=1):
            layers[f"denseblock{i}"] = DenseBlock(n, channels, growth, bn_size, dropout)
            channels += n * growth
            if i < len(blocks):  # no transition after the last block
                out = int(channels * compression)
                layers[f"transition{i}"] = Transition(channels, out)
                channels = out
        layers[f"norm{len(blocks) + 1}"] = nn.BatchNorm2d(channels)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:  # as torchvision does
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def densenet121(num_classes: int = 1000) -> DenseNet:
    """DenseNet-121: blocks of 6, 12, 24 and 16 layers, growth rate 32, 64 stem channels."""
    return DenseNet((6, 12, 24, 16), growth=32, init_channels=64, num_classes=num_classes)


def densenet_bc(
    blocks: Sequence[int] = (6, 6, 6), growth: int = 12, num_classes: int = 1, dropout: float = 0.0
) -> DenseNet:
    """A compact DenseNet-BC for 32 x 32 images (3x3 stem, ``2 * growth`` stem channels)."""
    return DenseNet(
        blocks, growth, 2 * growth, num_classes=num_classes, stem="cifar", dropout=dropout
    )


def shape_trace(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """The output shape of each top-level part of ``model.features`` for the input ``x``."""
    shapes = []
    with torch.no_grad():
        for name, part in model.features.named_children():
            x = part(x)
            shapes.append((name, tuple(x.shape)))
    return shapes
