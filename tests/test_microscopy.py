"""The microscopy simulators: deterministic for a seed, masks aligned with images and truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from dlcourse.data.microscopy import MODALITIES, simulate_frames
from dlcourse.segmentation.detection import centroids_from_mask, match_points


@pytest.mark.parametrize("modality", MODALITIES)
def test_simulator_is_deterministic_and_seed_dependent(modality):
    a = simulate_frames(modality, 2, size=96, seed=5)
    b = simulate_frames(modality, 2, size=96, seed=5)
    c = simulate_frames(modality, 2, size=96, seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (2, 1, 96, 96) and a.images.dtype == torch.float32
    assert a.masks.shape == (2, 1, 96, 96) and a.masks.dtype == torch.uint8


@pytest.mark.parametrize("modality", MODALITIES)
def test_masks_align_with_centroids_and_images(modality):
    frames = simulate_frames(modality, 6, size=128, seed=0)
    n_true = sum(len(c) for c in frames.centroids)
    assert n_true > 0
    inside, outside = [], []
    for image, mask, points in zip(frames.images, frames.masks, frames.centroids, strict=True):
        found = centroids_from_mask(mask[0].numpy())
        m = match_points(found, points, max_distance=2.0)
        assert m.fn == 0, "every true centroid lies at the centre of a mask component"
        image, mask = image[0].numpy(), mask[0].numpy().astype(bool)
        if modality == "xenopus":  # mitotic cells: bright chromatin inside a bright circle
            signal = image
        else:  # rounded cells: strong local contrast (rims, halos), whatever the illumination
            signal = np.abs(gaussian_filter(image, 1) - gaussian_filter(image, 4))
        inside.append(signal[mask])
        outside.append(signal[~mask])
    # Mitotic cells stand out where the mask says they are.
    assert np.concatenate(inside).mean() > 1.5 * np.concatenate(outside).mean()


def test_unknown_modality_is_a_clear_error():
    with pytest.raises(ValueError, match="brightfield"):
        simulate_frames("confocal", 1)
