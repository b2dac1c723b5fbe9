"""Notebook 06/00 writes its loss, patch sampler, tiled prediction and scores in its cells.

The loss has library copies (the mitosis notebooks train with it), tested equal to the cells;
the other definitions are run here on hand-made cases.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.measure import label
from skimage.metrics import adapted_rand_error, variation_of_information
from test_notebook_code import definition
from torch import nn
from torch.utils.data import DataLoader, Dataset

from dlcourse.models import UNet
from dlcourse.segmentation import losses
from dlcourse.segmentation.augment import ALL, MIRROR_ONLY, dihedral

CELL_TISSUE_06_00 = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/06_Image_Segmentation/00_cell_tissue_segmentation.ipynb"
)
NAMES = ("RandomPatches", "tile_starts", "predict_tiled", "segmentation_scores", "challenge_scores")


@pytest.mark.parametrize(
    ("name", "library"),
    [
        ("soft_dice_loss", losses.soft_dice_loss),
        ("BCEDiceLoss", losses.BCEDiceLoss),
    ],
)
def test_library_copy_equals_the_cell_of_06_00(name, library):
    assert definition(CELL_TISSUE_06_00, name) == inspect.getsource(library).rstrip("\n")


@pytest.fixture(scope="module")
def cells() -> dict:
    """The notebook's definitions, executed in one namespace."""
    namespace = {
        "__name__": "notebook_06_00",
        "torch": torch,
        "np": np,
        "F": F,
        "nn": nn,
        "Dataset": Dataset,
        "ALL": ALL,
        "dihedral": dihedral,
        "device": torch.device("cpu"),
        "label": label,
        "adapted_rand_error": adapted_rand_error,
        "variation_of_information": variation_of_information,
    }
    for name in NAMES:
        exec(definition(CELL_TISSUE_06_00, name), namespace)
    return namespace


def test_patches_are_seeded_aligned_and_batched(cells):
    images = torch.rand(3, 1, 50, 60)
    masks = (images > 0.5).float()
    patches = cells["RandomPatches"]
    a = patches(images, masks, 32, 10, jitter=0.0, seed=3)
    b = patches(images, masks, 32, 10, jitter=0.0, seed=3)
    batches = list(DataLoader(a, batch_size=4))
    assert len(a) == 10 and [len(x) for x, _ in batches] == [4, 4, 2]
    for (x, y), (x2, _) in zip(batches, DataLoader(b, batch_size=4), strict=True):
        assert x.shape == y.shape == (len(x), 1, 32, 32)
        assert torch.equal(y, (x > 0.5).float())  # the same transform for image and mask
        assert torch.equal(x, x2)  # the same seed, the same patches
    again = torch.cat([x for x, _ in DataLoader(a, batch_size=4)])
    assert not torch.equal(again, torch.cat([x for x, _ in batches]))  # new patches every pass
    with pytest.raises(ValueError, match="exceeds"):
        patches(images, masks, 64, 4)
    with pytest.raises(ValueError, match="differ"):
        patches(images, masks[:2], 32, 4)


def test_mirror_only_patches_keep_up_up(cells):
    masks = torch.zeros(1, 1, 8, 8)
    masks[:, :, 0, :] = 1  # the top row marked
    data = cells["RandomPatches"](torch.rand(1, 1, 8, 8), masks, 8, 32, MIRROR_ONLY, seed=0)
    assert all(torch.all(y[:, 0, :] == 1) for _, y in data)
    turned = cells["RandomPatches"](torch.rand(1, 1, 8, 8), masks, 8, 64, ALL, seed=0)
    assert any(not torch.all(y[:, 0, :] == 1) for _, y in turned)


def test_tile_starts_cover_with_overlap(cells):
    tile_starts = cells["tile_starts"]
    assert tile_starts(512, 256, 32) == [0, 128, 256]
    starts = tile_starts(500, 128, 32)
    assert starts[0] == 0 and starts[-1] == 500 - 128
    assert all(b - a <= 128 - 32 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_starts(64, 64, 8) == [0]
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(100, 32, 32)
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(20, 32, 8)


@pytest.mark.parametrize("size", [(512, 512), (300, 157), (64, 64)])
def test_tiled_prediction_blends_to_the_image_for_a_pixelwise_model(cells, size):
    image = torch.randn(2, 3, *size)
    out = cells["predict_tiled"](lambda t: 2 * t, image, tile=64, overlap=16)
    assert out.shape == image.shape
    assert torch.allclose(out, 2 * image, atol=1e-5)


def test_tiled_unet_matches_whole_image_away_from_tile_edges(cells):
    net = UNet(width=4, depth=2).eval()
    image = torch.randn(1, 1, 96, 96)
    with torch.no_grad():
        whole = net(image)
    tiled = cells["predict_tiled"](net, image, tile=64, overlap=32)
    assert tiled.shape == whole.shape
    # rows and columns 4-23 lie in the first tile only, 40 px from its inner edges
    assert torch.allclose(tiled[..., 4:24, 4:24], whole[..., 4:24, 4:24], atol=1e-4)
    assert (tiled - whole).abs().max() < 0.5


def test_segmentation_scores_on_hand_made_masks(cells):
    pred = torch.zeros(4, 4, dtype=torch.bool)
    truth = torch.zeros(4, 4)
    pred[:2, :2] = True  # 4 pixels
    truth[:2, :3] = 1  # 6 pixels, 4 shared
    scores = cells["segmentation_scores"](pred, truth)
    assert scores["pixel_accuracy"] == pytest.approx(14 / 16)
    assert scores["membrane_dice"] == pytest.approx(2 * 4 / 10)
    assert scores["membrane_iou"] == pytest.approx(4 / 6)
    assert scores["interior_iou"] == pytest.approx(10 / 12)  # 12 interior pixels, 10 shared
    empty = cells["segmentation_scores"](torch.zeros(3, 3), torch.zeros(3, 3))
    assert empty["membrane_dice"] == 1.0
    with pytest.raises(ValueError, match="differ"):
        cells["segmentation_scores"](torch.zeros(2, 2), torch.zeros(2, 3))


def test_challenge_scores_count_merges_and_splits(cells):
    truth = torch.zeros(1, 1, 12, 12)
    truth[..., :, 6] = 1  # one vertical membrane: two cells
    scores = cells["challenge_scores"]
    perfect = scores(truth > 0.5, truth)
    assert perfect["rand_error"] == pytest.approx(0.0) and perfect["vi"] == pytest.approx(0.0)
    gap = truth.clone()
    gap[..., 5:7, 6] = 0  # a gap merges the two cells
    merged = scores(gap > 0.5, truth)
    assert merged["rand_error"] > 0.3 and merged["vi"] == pytest.approx(1.0, abs=0.05)
    split = truth.clone()
    split[..., 6, :6] = 1  # a stray line splits the left cell
    assert scores(split > 0.5, truth)["rand_error"] > 0.1
    thicker = truth.clone()
    thicker[..., :, 7] = 1  # one pixel too thick: the truth's membrane is ignored, not this
    assert 0 < scores(thicker > 0.5, truth)["rand_error"] < merged["rand_error"]
