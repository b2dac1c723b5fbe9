"""The trained cat-vs-dog network of ``02_Image_Classification/00_cifar10_classification``.

Notebook 02/00 trains :class:`~dlcourse.models.cifar.Model2` on CIFAR-10 cats and dogs and
saves its weights with :func:`dlcourse.train.save_model` at :func:`checkpoint_path`
(``<data directory>/checkpoints/cifar_cat_dog_model2.pt``), with the normalisation statistics
in the metadata. Later notebooks (Grad-CAM) call :func:`load_cat_dog_model2`, which loads that
checkpoint, or trains the model with the notebook's recipe on a shorter schedule
(:data:`STANDIN_EPOCHS`) when it is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlcourse.augment import BatchAugment
from dlcourse.autocast import Autocast
from dlcourse.config import checkpoint_file, get_device, is_quick
from dlcourse.data import ImageData, load_cat_vs_dog
from dlcourse.models.cifar import Model2
from dlcourse.train import History, TensorBatches, fit, load_model, predict, save_model
from dlcourse.train.checkpoint import safe_load

CHECKPOINT = "cifar_cat_dog_model2"
CLASSES = ("cat", "dog")
STANDIN_EPOCHS = 12  # a stand-in for the missing checkpoint: about a third of the notebook's 36


def checkpoint_path(quick: bool | None = None) -> Path:
    """Where notebook 02/00 saves model2: ``<data dir>/checkpoints/cifar_cat_dog_model2.pt``.

    In quick mode (``quick=None`` follows ``DLCOURSE_QUICK``) the smoke-run model goes to
    ``cifar_cat_dog_model2.quick.pt`` instead, so a smoke run never replaces the real model.
    """
    return checkpoint_file(CHECKPOINT, quick)


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images ``[N, C, H, W]``, on a 0-1 scale."""
    x = images.float() / 255
    return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3)).tolist()


def normalize(images: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 images ``[N, 3, H, W]`` to float ``(x / 255 - mean) / std`` per channel."""
    m = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255 - m) / s


def predict_flip_average(model: nn.Module, images: torch.Tensor, batch_size: int = 500):
    """Test-time augmentation: the mean of the logits for each image and its mirror image."""
    return (
        predict(model, images, batch_size=batch_size)
        + predict(model, images.flip(-1), batch_size=batch_size)
    ) / 2


@dataclass(frozen=True)
class Recipe:
    """How notebook 02/00 trains its final model2 (section 8, "+ longer training"): AdamW and
    a one-cycle schedule peaking at ``max_lr`` (the value the notebook's learning-rate finder
    rule gave in its full run of 2026-12-06), flips and crops, ``BCEWithLogitsLoss``."""

    width: int = 32
    epochs: int = 36
    batch_size: int = 128
    max_lr: float = 0.03
    weight_decay: float = 0.05
    crop_padding: int = 4
    seed: int = 0


def train_model2(
    data: ImageData,
    recipe: Recipe = Recipe(),
    device: torch.device | str | None = None,
    verbose: bool = True,
) -> tuple[Model2, History, dict[str, Any]]:
    """Train model2 with ``recipe`` on all of ``data``'s training images and return the model,
    its training history and the metadata :func:`save_model` should store with it (the test
    accuracy, plain and flip-averaged, measured once at the end: the notebook chose the
    recipe on its validation split)."""
    device = torch.device(device) if device is not None else get_device()
    torch.manual_seed(recipe.seed)
    mean, std = channel_stats(data.x_train)
    x_train = normalize(data.x_train, mean, std).to(device)
    x_test = normalize(data.x_test, mean, std).to(device)
    y_train, y_test = data.y_train.float().to(device), data.y_test.float().to(device)
    net = Model2(recipe.width).to(device)
    model = Autocast(net, device)
    augment = BatchAugment(flip=True, crop_padding=recipe.crop_padding, seed=recipe.seed)
    train = TensorBatches(
        x_train, y_train, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed,
        transform=augment.batch,
    )  # fmt: skip
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=recipe.max_lr, weight_decay=recipe.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.max_lr, epochs=recipe.epochs, steps_per_epoch=len(train)
    )
    history = fit(
        model, train, epochs=recipe.epochs, optimizer=optimizer,
        loss_fn=nn.BCEWithLogitsLoss(), metrics=["accuracy"],
        scheduler=scheduler, scheduler_step="batch", channels_last=True, verbose=verbose,
    )  # fmt: skip

    def accuracy(logits: torch.Tensor) -> float:
        return float(((logits > 0).float() == y_test.cpu()).float().mean())

    metadata = {
        "mean": mean,
        "std": std,
        "classes": list(CLASSES),
        "recipe": asdict(recipe),
        "test_accuracy": accuracy(predict(model, x_test)),
        "test_accuracy_flip_average": accuracy(predict_flip_average(model, x_test)),
    }
    return net, history, metadata


def load_cat_dog_model2(
    path: str | Path | None = None,
    device: torch.device | str | None = None,
    train_if_missing: bool = True,
) -> tuple[Model2, dict[str, Any]]:
    """Model2 with the weights of notebook 02/00, in eval mode, and its metadata (``mean`` and
    ``std`` for :func:`normalize`, ``classes``, ``test_accuracy``, ``recipe``).

    ``path`` defaults to :func:`checkpoint_path`. When the file is missing and
    ``train_if_missing`` is true, the model is trained with :class:`Recipe` on the cat-vs-dog
    data for :data:`STANDIN_EPOCHS` epochs instead of the notebook's 36 (about 4 minutes on a
    2-core CPU with bfloat16, less on a GPU; in quick mode one epoch on 2,000 images) and saved
    there; running notebook 02/00 replaces it with the full model.
    """
    path = Path(path) if path is not None else checkpoint_path()
    device = torch.device(device) if device is not None else get_device()
    if not path.is_file():
        if not train_if_missing:
            raise FileNotFoundError(
                f"no cat-vs-dog checkpoint at {path}: run notebook "
                "02_Image_Classification/00_cifar10_classification.ipynb, or call "
                "load_cat_dog_model2(train_if_missing=True)"
            )
        quick = is_quick()
        recipe = Recipe(epochs=1 if quick else STANDIN_EPOCHS)
        print(
            f"{path} is missing: training model2 with the recipe of notebook 02/00 for "
            f"{recipe.epochs} epochs (the notebook trains {Recipe().epochs})."
        )
        data = load_cat_vs_dog(subset=2000 if quick else None)
        net, _, metadata = train_model2(data, recipe, device=device)
        save_model(path, net, **metadata)
    metadata = safe_load(path).get("metadata", {})
    model = Model2(int(metadata.get("recipe", {}).get("width", Recipe().width)))
    load_model(path, model)
    return model.to(device).eval(), metadata
