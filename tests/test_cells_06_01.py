"""Notebook 06/01: its detection cells equal the library's copies (used by 02 and 03), its
hand check holds, and the forest baseline's features behave as documented."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from test_notebook_code import code_cells, definition

from dlcourse.data.timelapse import simulate_movie
from dlcourse.models import UNet
from dlcourse.segmentation import detection, mitosis
from dlcourse.segmentation.features import (
    feature_names,
    filter_names,
    frame_features,
    movie_features,
    sample_pixels,
)
from dlcourse.train import save_model

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/06_Image_Segmentation/01_mitosis_detection_brightfield.ipynb"
)


@pytest.mark.parametrize(
    "name", ["centroids_from_mask", "Matching", "match_points", "detection_scores"]
)
def test_cell_equals_library(name):
    # ast's source segment of a class leaves out its decorators: compare without them.
    library = inspect.getsource(getattr(detection, name)).rstrip()
    body = "\n".join(line for line in library.splitlines() if not line.startswith("@"))
    assert definition(NOTEBOOK, name) == body
    if name == "Matching":
        cells = "\n".join(code_cells(NOTEBOOK))
        assert "@dataclass(frozen=True)\nclass Matching:" in cells


@pytest.mark.parametrize(
    "name",
    [
        "contrast_percent",
        "detect",
        "tune_detection",
        "windows",
        "train_unet",
        "unet_probability",
        "name_errors",
    ],
)
def test_mitosis_copies_equal_cells(name):
    # 06/02 and 06/03 import these from dlcourse.segmentation.mitosis.
    assert definition(NOTEBOOK, name) == inspect.getsource(getattr(mitosis, name)).rstrip()


def test_windows_stack_neighbours_and_clamp_at_the_ends():
    x = torch.arange(4.0).view(4, 1, 1, 1)
    w = mitosis.windows(x, 1)
    assert w.shape == (4, 3, 1, 1)
    assert w[:, :, 0, 0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]


def test_checkpoint_path_keeps_quick_runs_apart(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    assert mitosis.checkpoint_path(quick=False).name == "mitosis_brightfield_unet.pt"
    assert mitosis.checkpoint_path(quick=True).name == "mitosis_brightfield_unet.quick.pt"
    assert mitosis.checkpoint_path(quick=False).parent == tmp_path / "checkpoints"


def test_load_brightfield_unet_refuses_clearly_without_checkpoint(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="run notebook 06_Image_Segmentation/01"):
        mitosis.load_brightfield_unet(train_if_missing=False)


def test_load_brightfield_unet_round_trip(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    net = UNet(5, 1, width=16, depth=3)
    save_model(mitosis.checkpoint_path(), net, half=2, epochs=1, frames=12, quick=True)
    model, meta = mitosis.load_brightfield_unet("cpu", train_if_missing=False)
    assert meta["half"] == 2 and not model.training
    for a, b in zip(model.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_notebook_hand_check():
    # The notebook's example: the middle detection could serve either cell; one-to-one
    # matching with the most matches gives it to the right-hand one.
    true = np.array([[10.0, 10.0], [10.0, 20.0]])
    pred = np.array([[10.0, 15.0], [10.0, 9.0], [40.0, 40.0]])
    m = detection.match_points(pred, true, 6.0)
    assert sorted(map(tuple, m.pairs.tolist())) == [(0, 1), (1, 0)]
    assert m.false_positives.tolist() == [2] and m.fn == 0
    scores = detection.detection_scores([pred], [true], 6.0)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == 1.0


def test_frame_features_respond_to_a_bright_blob():
    yy, xx = np.mgrid[:41, :41]
    blob = np.exp(-((yy - 20.0) ** 2 + (xx - 20.0) ** 2) / (2 * 3.0**2)).astype(np.float32)
    f = frame_features(blob)
    names = filter_names()
    assert f.shape == (41, 41, len(names))
    log2 = f[..., names.index("LoG 2")]
    assert log2[20, 20] < 0 and log2[20, 20] == log2.min()  # bright blob: negative LoG
    large = f[..., names.index("tensor 1 large")]
    small = f[..., names.index("tensor 1 small")]
    assert np.all(large >= small - 1e-7)
    assert large[20, 26] > large[20, 20]  # edges, not the flat top, have gradient energy


def test_movie_features_add_temporal_differences():
    rng = np.random.default_rng(0)
    still = np.repeat(rng.random((1, 24, 24), dtype=np.float32), 5, axis=0)
    f = movie_features(still, lag=2)
    n = len(filter_names())
    assert f.shape == (5, 24, 24, 3 * n) and len(feature_names()) == 3 * n
    assert np.allclose(f[..., n:], 0)  # nothing changes, no temporal signal
    moving = still.copy()
    moving[3:] += 1.0
    g = movie_features(moving, lag=2)
    intensity_after = feature_names().index("intensity, t + lag")
    assert np.allclose(g[1, ..., intensity_after], 1.0) and np.allclose(
        g[4, ..., intensity_after], 0
    )
    with pytest.raises(ValueError, match="frames"):
        movie_features(still[0])


def test_sample_pixels_balances_classes():
    masks = np.zeros((2, 1, 10, 10), dtype=np.uint8)
    categories = np.zeros_like(masks)
    masks[0, 0, :3, :3] = 1
    categories[0, 0, :3, :3] = 3
    categories[1, 0, 5:, 5:] = 5
    index, labels = sample_pixels(masks, categories, n_per_class=9, seed=0)
    assert labels.sum() == 9 and len(labels) == 27
    assert (categories.ravel()[index[labels == 0]] > 0).sum() == 9
    again, _ = sample_pixels(masks, categories, n_per_class=9, seed=0)
    assert np.array_equal(index, again)
    with pytest.raises(ValueError, match="differ"):
        sample_pixels(masks, categories[:1], 3)


def test_notebook_records_the_window_gain_and_margins():
    record_cell = next(c for c in code_cells(NOTEBOOK) if "record(" in c)
    for name in ("window_gain_f1", "single_frame_f1", "rf_baseline_f1", "f1_over_rf_baseline"):
        assert f"{name}=" in record_cell


def test_detect_and_tune_detection_on_a_hand_made_map():
    prob = torch.zeros(2, 1, 32, 32)
    prob[0, 0, 4:9, 4:9] = 0.9  # a 25-pixel blob: a detection at (6, 6)
    prob[0, 0, 20:22, 20:22] = 0.9  # 4 pixels: dropped by min_area 5
    prob[1, 0, 10:15, 20:25] = 0.45  # found only below a threshold of 0.5
    points = mitosis.detect(prob, 0.5, 5)
    assert points[0].tolist() == [[6.0, 6.0]] and len(points[1]) == 0
    truth = [np.array([[6.0, 6.0]]), np.array([[12.0, 22.0]])]
    best = mitosis.tune_detection(prob, truth, 6.0)
    assert best["f1"] == 1.0 and best["threshold"] < 0.45 and best["min_area"] == 5


def test_name_errors_counts_misses_by_phase_and_nothing_for_the_truth():
    movie = simulate_movie("brightfield", 12, 96, seed=0, division_rate=0.2)
    alarms, misses = mitosis.name_errors(movie, movie.centroids, 6.0)
    assert alarms == [] and misses == []
    empty = [np.zeros((0, 2)) for _ in movie.centroids]
    alarms, misses = mitosis.name_errors(movie, empty, 6.0)
    assert len(misses) == sum(len(c) for c in movie.centroids) > 0
    assert all(m["kind"] == "anaphase" or m["kind"].startswith("metaphase") for m in misses)
    assert all(m["border"] >= 0 for m in misses)
    far = [c + 40.0 if len(c) else c for c in movie.centroids]
    alarms, _ = mitosis.name_errors(movie, far, 6.0)
    assert alarms and all(isinstance(a["kind"], str) for a in alarms)


def test_brightfield_recipe_matches_the_notebook():
    # The stand-in for a missing checkpoint trains with 06/01's full-mode settings.
    recipe = mitosis.BrightfieldRecipe()
    cells = "\n".join(code_cells(NOTEBOOK))
    assert f"SIZE = dlcourse.pick(96, {recipe.size})" in cells
    assert f"RATE = {recipe.rate}" in cells
    assert f'simulate_movie("brightfield", dlcourse.pick(12, {recipe.train_frames})' in cells
    assert f'simulate_movie("brightfield", dlcourse.pick(8, {recipe.val_frames})' in cells
    assert f"EPOCHS = dlcourse.pick(1, {recipe.epochs})" in cells
    assert f"HALF = {recipe.half}" in cells
