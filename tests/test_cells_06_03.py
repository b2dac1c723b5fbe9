"""Notebook 06/03: its percentile scaling and crop cells do what its text says, and the Xenopus
movies behave as the text describes them (no pixel size, the projection changes only the
images, bright-nucleus cells stay so all movie long, events well inside the frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_notebook_code import definition

from dlcourse.data.timelapse import BRIGHT, MITOTIC, MicroscopyMovie, simulate_movie

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/06_Image_Segmentation/03_mitosis_xenopus_detection.ipynb"
)


@pytest.fixture(scope="module")
def movies() -> dict[int, MicroscopyMovie]:
    """One short movie, simulated with each of three projections."""
    return {p: simulate_movie("xenopus", 10, 64, seed=3, projected=p) for p in (0, 1, 3)}


def _cell(name: str):
    namespace = {"np": np, "torch": torch, "MicroscopyMovie": MicroscopyMovie}
    exec(definition(NOTEBOOK, name), namespace)
    return namespace[name]


def test_percentile_scale_maps_the_movies_percentiles_to_0_and_1(movies):
    movie = movies[1]
    scaled = _cell("percentile_scale")(movie).numpy()
    assert scaled.shape == tuple(movie.images.shape)
    low, high = np.percentile(scaled, (1, 99.8))
    assert low == pytest.approx(0, abs=1e-5) and high == pytest.approx(1, abs=1e-5)
    assert scaled.max() > 1  # nothing is clipped


def test_crop_centres_the_point_and_mirrors_at_the_edges():
    crop = _cell("crop")
    image = torch.arange(100.0).reshape(10, 10)
    assert crop(image, 5, 5, half=2).tolist() == image[3:7, 3:7].tolist()
    assert crop(image, 0, 0, half=3).shape == (6, 6)


def test_xenopus_has_no_pixel_size(movies):
    assert np.isnan(movies[1].pixel_um)


def test_the_projection_changes_only_the_images(movies):
    reference = movies[1]
    for p in (0, 3):
        assert torch.equal(movies[p].masks, reference.masks)
        assert movies[p].events == reference.events
        for a, b in zip(movies[p].centroids, reference.centroids, strict=True):
            np.testing.assert_array_equal(a, b)
        assert not torch.equal(movies[p].images, reference.images)


def test_bright_nucleus_cells_stay_so_and_are_never_mitotic():
    movie = simulate_movie("xenopus", 12, 128, seed=0)
    bright = {e.cell_id for e in movie.events if e.kind == "bright_nucleus"}
    assert bright
    for frame in movie.objects:
        for o in frame:
            assert (o.category == BRIGHT) == (o.cell_id in bright)
            assert not (o.cell_id in bright and o.category == MITOTIC)


def test_every_event_lies_at_least_12_pixels_inside():
    movie = simulate_movie("xenopus", 12, 128, seed=0)
    assert min(e.border_px for e in movie.events if e.kind != "bright_nucleus") >= 12
