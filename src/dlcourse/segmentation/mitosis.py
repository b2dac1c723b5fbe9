"""What notebook 06/01 (mitosis detection in brightfield movies) writes in its cells and
notebooks 06/02 and 06/03 reuse, plus where 06/01 saves its five-frame U-Net for 06/02.

Each function is a copy of a 06/01 cell, kept equal by ``tests/test_cells_06_01.py``:
flat-field contrast, frame windows, probability map → detections and the tuning of that
post-processing, the U-Net's training recipe, its probability maps with test-time
augmentation, and the errors named by the simulator's truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from dlcourse.config import checkpoint_file, get_device, is_quick
from dlcourse.data.timelapse import CATEGORIES, MITOTIC, MicroscopyMovie, simulate_movie
from dlcourse.models import UNet
from dlcourse.segmentation.augment import PairedAugment, predict_tta
from dlcourse.segmentation.detection import centroids_from_mask, detection_scores, match_points
from dlcourse.segmentation.losses import BCEDiceLoss
from dlcourse.train import History, TensorBatches, fit, load_model, save_model
from dlcourse.train.checkpoint import safe_load

CHECKPOINT = "mitosis_brightfield_unet"


def contrast_percent(movie: MicroscopyMovie) -> torch.Tensor:
    """Each frame divided by its smooth background (flat-field correction), minus 1, in %."""
    x = movie.images.numpy()
    background = gaussian_filter(x, sigma=(0, 0, 12, 12))
    return torch.from_numpy(100 * (x / background - 1)).float()


def detect(prob: torch.Tensor, threshold: float, min_area: int) -> list[np.ndarray]:
    """Centroids per frame of a probability movie [T, 1, H, W]."""
    return [centroids_from_mask((p[0] > threshold).numpy(), min_area) for p in prob]


def tune_detection(prob: torch.Tensor, truth: list[np.ndarray], max_distance: float) -> dict:
    """The threshold and smallest area with the best F1 on (prob, truth)."""
    best = {"f1": -1.0}
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        for min_area in (5, 10, 20, 30):
            scores = detection_scores(detect(prob, threshold, min_area), truth, max_distance)
            if scores["f1"] > best["f1"]:
                best = {**scores, "threshold": threshold, "min_area": min_area}
    return best


def windows(x: torch.Tensor, half: int) -> torch.Tensor:
    """Each frame with its `half` neighbours on each side as channels, [T, 2 half + 1, H, W]."""
    t = torch.arange(len(x)).unsqueeze(1) + torch.arange(-half, half + 1)
    return x[t.clamp(0, len(x) - 1), 0]


def train_unet(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    half: int,
    epochs: int,
    lr: float = 3e-3,
    model: nn.Module | None = None,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, History]:
    """Train a U-Net on windows of 2 half + 1 frames of a flat-field corrected movie
    train_x [T, 1, H, W] to predict its masks train_y, the loss also measured on (val_x, val_y)
    after each epoch. A new U-Net, unless `model` is given (then that one trains on)."""
    torch.manual_seed(0)
    if model is None:
        model = UNet(2 * half + 1, 1, width=16, depth=3)
    model = model.to(device)
    batches = TensorBatches(
        windows(train_x, half),
        train_y.float(),
        batch_size=8,
        shuffle=True,
        seed=0,
        transform=PairedAugment(seed=0),
    )
    val_batches = TensorBatches(windows(val_x, half), val_y.float(), batch_size=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * len(batches), pct_start=0.15
    )
    history = fit(
        model,
        batches,
        epochs=epochs,
        optimizer=optimizer,
        loss_fn=BCEDiceLoss(pos_weight=3.0),
        val=val_batches,
        scheduler=scheduler,
        scheduler_step="batch",
    )
    return model, history


def unet_probability(model: nn.Module, x: torch.Tensor, half: int) -> torch.Tensor:
    """P(mitotic) per pixel [T, 1, H, W] of a flat-field corrected movie x [T, 1, H, W]."""
    model.eval()
    on = next(model.parameters()).device
    predict = lambda z: torch.sigmoid(model(z.to(on))).cpu()  # noqa: E731
    with torch.no_grad():
        chunks = windows(x, half).split(16)
        return torch.cat([predict_tta(predict, c, transforms=(0, 2, 4, 6)) for c in chunks])


def name_errors(
    movie: MicroscopyMovie, points: list[np.ndarray], max_distance: float
) -> tuple[list[dict], list[dict]]:
    """The false alarms and misses of `points` on `movie`, with what the truth says they are."""
    divisions = {e.cell_id: e for e in movie.events if e.kind == "division"}
    alarms, misses = [], []
    size = movie.images.shape[-1]
    for t, (pred, true) in enumerate(zip(points, movie.centroids, strict=True)):
        m = match_points(pred, true, max_distance)
        objects = movie.objects[t]
        centres = np.array([(o.row, o.col) for o in objects]).reshape(-1, 2)
        for i in m.false_positives:
            dist = np.linalg.norm(centres - pred[i], axis=1) if len(centres) else np.zeros(0)
            near = len(dist) and dist.min() <= max_distance
            kind = CATEGORIES[objects[int(dist.argmin())].category] if near else "background"
            alarms.append({"frame": t, "point": pred[i], "kind": kind})
        for j in m.false_negatives:
            cell = min(
                (o for o in objects if o.category == MITOTIC),
                key=lambda o: np.hypot(o.row - true[j, 0], o.col - true[j, 1]),
            )
            e = divisions[cell.cell_id]
            phase = "anaphase" if t >= e.anaphase else f"metaphase frame {t - e.metaphase + 1}"
            border = min(*true[j], size - 1 - true[j, 0], size - 1 - true[j, 1])
            misses.append({"frame": t, "point": true[j], "kind": phase, "border": border})
    return alarms, misses


def checkpoint_path(quick: bool | None = None) -> Path:
    """Where notebook 06/01 saves its five-frame U-Net:
    ``<data dir>/checkpoints/mitosis_brightfield_unet.pt``; in quick mode (``quick=None``
    follows ``DLCOURSE_QUICK``) ``mitosis_brightfield_unet.quick.pt``, so a smoke run never
    replaces the real network."""
    return checkpoint_file(CHECKPOINT, quick)


@dataclass(frozen=True)
class BrightfieldRecipe:
    """How notebook 06/01 trains its five-frame U-Net (its full-mode settings): movies of
    ``size`` pixels with ``rate`` divisions per cell and frame, training movie seed 0,
    validation movie seed 1."""

    size: int = 160
    rate: float = 0.04
    train_frames: int = 160
    val_frames: int = 32
    half: int = 2
    epochs: int = 22


STANDIN_EPOCHS = 8  # a stand-in for a missing checkpoint: about a third of the notebook's 22


def load_brightfield_unet(
    device: torch.device | str | None = None, train_if_missing: bool = True
) -> tuple[nn.Module, dict[str, Any]]:
    """Notebook 06/01's five-frame U-Net, in eval mode, and the metadata saved with it
    (``half``, ``epochs``, ``frames``, ``quick``; ``standin`` when trained here).

    When :func:`checkpoint_path` holds no file and ``train_if_missing`` is true, the network
    is trained with 06/01's recipe (:class:`BrightfieldRecipe`) for :data:`STANDIN_EPOCHS`
    epochs (one on small movies in quick mode) and saved there; running notebook 06/01
    replaces it with the real one.
    """
    path = checkpoint_path()
    device = torch.device(device) if device is not None else get_device()
    if not path.is_file():
        if not train_if_missing:
            raise FileNotFoundError(
                f"no brightfield U-Net at {path}: run notebook "
                "06_Image_Segmentation/01_mitosis_detection_brightfield.ipynb, or call "
                "load_brightfield_unet(train_if_missing=True)"
            )
        recipe = BrightfieldRecipe()
        quick = is_quick()
        size, epochs = (96, 1) if quick else (recipe.size, STANDIN_EPOCHS)
        frames = (12, 8) if quick else (recipe.train_frames, recipe.val_frames)
        print(
            f"{path} is missing: training the five-frame U-Net with the recipe of notebook "
            f"06/01 for {epochs} epochs (the notebook trains {recipe.epochs})."
        )
        train = simulate_movie("brightfield", frames[0], size, seed=0, division_rate=recipe.rate)
        val = simulate_movie("brightfield", frames[1], size, seed=1, division_rate=recipe.rate)
        model, _ = train_unet(
            contrast_percent(train), train.masks, contrast_percent(val), val.masks,
            recipe.half, epochs, device=device,
        )  # fmt: skip
        save_model(
            path, model, half=recipe.half, epochs=epochs, frames=frames[0], quick=quick,
            standin=True,
        )  # fmt: skip
    metadata = safe_load(path).get("metadata", {})
    model = UNet(2 * int(metadata.get("half", 2)) + 1, 1, width=16, depth=3)
    load_model(path, model)
    return model.to(device).eval(), metadata
