"""U-Net shapes, segmentation losses and Dice, detection matching, augmentation.

(06/00's patches, tiling and scores, written in its cells: tests/test_cells_06_00.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlcourse.data import DatasetError, load_mask_folder
from dlcourse.models import UNet
from dlcourse.segmentation.augment import (
    MIRROR_ONLY,
    PairedAugment,
    dihedral,
    predict_tta,
    undo_dihedral,
)
from dlcourse.segmentation.detection import centroids_from_mask, detection_scores, match_points
from dlcourse.segmentation.losses import BCEDiceLoss, soft_dice_loss


@pytest.mark.parametrize("depth", [1, 3, 4])
@pytest.mark.parametrize("size", [(37, 53), (64, 64), (5, 3), (100, 17)])
@pytest.mark.parametrize("bilinear", [True, False])
def test_unet_output_matches_any_input_size(depth, size, bilinear):
    net = UNet(in_channels=2, out_channels=3, width=4, depth=depth, bilinear=bilinear).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 2, *size))
    assert out.shape == (2, 3, *size)


def test_unet_trains_in_train_mode_on_odd_sizes():
    net = UNet(width=4, depth=2)
    out = net(torch.randn(2, 1, 30, 45))
    out.mean().backward()
    assert out.shape == (2, 1, 30, 45)


def test_unet_rejects_bad_input_and_settings():
    with pytest.raises(ValueError, match="N, C, H, W"):
        UNet(width=4)(torch.zeros(1, 32, 32))
    with pytest.raises(ValueError, match="depth"):
        UNet(depth=0)


def test_losses_on_logits():
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    perfect = (target * 2 - 1) * 20
    assert float(soft_dice_loss(perfect, target)) < 1e-6
    assert float(soft_dice_loss(-perfect, target)) > 0.6
    loss = BCEDiceLoss(pos_weight=3.0)
    assert float(loss(perfect, target)) < 1e-4 < float(loss(-perfect, target))


def test_matcher_on_hand_made_points():
    true = np.array([[10, 10], [30, 30], [50, 50]])
    pred = np.array([[11, 10], [29, 31], [90, 90], [12, 12]])
    m = match_points(pred, true, max_distance=5)
    assert m.tp == 2 and m.fp == 2 and m.fn == 1
    assert sorted(map(tuple, m.pairs)) == [(0, 0), (1, 1)]
    assert list(m.false_negatives) == [2]
    scores = detection_scores([pred], [true], max_distance=5)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_matcher_is_one_to_one_and_maximises_matches():
    # A greedy nearest-first rule would pair pred 0 with true 1 and leave true 0 unmatched.
    true = np.array([[0.0, 0.0], [0.0, 4.0]])
    pred = np.array([[0.0, 3.0], [0.0, 7.5]])
    m = match_points(pred, true, max_distance=4)
    assert m.tp == 2
    assert match_points(np.zeros((0, 2)), true, 4).fn == 2
    assert detection_scores([np.zeros((0, 2))], [np.zeros((0, 2))], 4)["f1"] == 1.0


def test_centroids_from_mask():
    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[2:5, 2:5] = 1
    mask[10:14, 12:16] = 1
    mask[18, 18] = 1
    points = centroids_from_mask(mask, min_area=2)
    assert np.allclose(sorted(map(tuple, points)), [(3.0, 3.0), (11.5, 13.5)])


def test_dihedral_transforms_invert_and_augment_keeps_masks_aligned():
    x = torch.arange(2 * 5 * 5.0).reshape(2, 1, 5, 5)
    for k in range(8):
        assert torch.equal(undo_dihedral(dihedral(x, k), k), x)
    assert len({tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}) == 8
    images = torch.rand(16, 1, 8, 8)
    aug = PairedAugment(contrast=0.0, brightness=0.0, seed=1)
    out_images, out_masks = aug((images, images.clone()))
    assert torch.allclose(out_images, out_masks)  # the same geometric transform for both
    assert torch.allclose(predict_tta(lambda t: t * 2, images), images * 2)


def test_mirror_only_augmentation_keeps_up_up_and_accepts_non_square_images():
    masks = torch.zeros(64, 1, 6, 9)
    masks[:, :, 0, :] = 1  # the top row marked
    masks[:, :, 1, 0] = 1  # and one pixel on the left, to see the mirror
    aug = PairedAugment(seed=0, transforms=MIRROR_ONLY)
    _, out = aug((torch.rand(64, 1, 6, 9), masks))
    assert torch.all(out[:, :, 0, :] == 1)  # up stays up in every sample
    mirrored = out[:, 0, 1, -1] == 1
    assert 0 < int(mirrored.sum()) < 64  # some samples mirrored left-right, some not
    images = torch.rand(2, 1, 6, 9)
    averaged = predict_tta(lambda t: t * 2, images, transforms=MIRROR_ONLY)
    assert torch.allclose(averaged, images * 2)


@pytest.mark.parametrize("transforms", [(), (0, 8), (-1,)])
def test_augmentation_refuses_unknown_transforms(transforms):
    with pytest.raises(ValueError, match="choice of 0-7"):
        PairedAugment(transforms=transforms)
    with pytest.raises(ValueError, match="choice of 0-7"):
        predict_tta(lambda t: t, torch.rand(1, 1, 4, 4), transforms=transforms)


def test_load_mask_folder(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "mask").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 255, (12, 10), dtype=np.uint8)).save(
            tmp_path / "img" / f"{name}.png"
        )
        mask = np.zeros((12, 10), dtype=np.uint8)
        mask[2:5] = 255
        Image.fromarray(mask).save(tmp_path / "mask" / f"{name}.tif")
    data = load_mask_folder(tmp_path / "img", tmp_path / "mask")
    assert data.images.shape == (2, 1, 12, 10) and data.masks.shape == (2, 1, 12, 10)
    assert data.names == ["a", "b"] and set(data.masks.unique().tolist()) == {0, 1}
    Image.fromarray(np.zeros((12, 10), dtype=np.uint8)).save(tmp_path / "img" / "c.png")
    with pytest.raises(DatasetError, match="c"):
        load_mask_folder(tmp_path / "img", tmp_path / "mask")
    with pytest.raises(DatasetError, match="not a folder"):
        load_mask_folder(tmp_path / "nothing", tmp_path / "mask")


def test_threshold_baseline_finds_bright_round_objects():
    from dlcourse.segmentation.baseline import ThresholdDetector, tune_threshold_detector

    rr, cc = np.mgrid[0:64, 0:64]
    images, points = [], []
    for k in range(3):
        centres = np.array([[15.0 + k, 20.0], [45.0, 40.0 - k]])
        image = np.ones((64, 64))
        for r, c in centres:
            image += 2.0 * ((rr - r) ** 2 + (cc - c) ** 2 < 25)
        images.append(image)
        points.append(centres)
    detector, scores = tune_threshold_detector(np.stack(images), points, max_distance=3)
    assert isinstance(detector, ThresholdDetector) and scores["f1"] == 1.0
    assert np.allclose(sorted(map(tuple, detector(images[0]))), [(15, 20), (45, 40)], atol=1)


def test_bf16_autocast_returns_float32_of_the_right_shape():
    from dlcourse.autocast import Autocast

    model = Autocast(UNet(width=4, depth=2), "cpu", enabled=True, channels_last=True).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, 20, 24))
    assert out.shape == (1, 1, 20, 24) and out.dtype == torch.float32
    assert model.model.inc.block[0].weight.is_contiguous(memory_format=torch.channels_last)
