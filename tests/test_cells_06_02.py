"""Notebook 06/02: the physics its text states holds for its own cells, and its one-frame copy
of a window network is that network fed one frame repeated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_notebook_code import code_cells, definition
from torch import nn

from dlcourse.data import optics
from dlcourse.data.timelapse import OVERSAMPLE, PIXEL_UM
from dlcourse.models import UNet

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/06_Image_Segmentation/02_mitosis_detection_phase_contrast.ipynb"
)


@pytest.fixture(scope="module")
def physics() -> dict:
    """The namespace after the notebook's specimen cell and its `pc_image` and `measure`."""
    cell = next(c for c in code_cells(NOTEBOOK) if "sphere = 2 * np.sqrt" in c)
    names = {"np": np, "optics": optics, "PIXEL_UM": PIXEL_UM, "OVERSAMPLE": OVERSAMPLE}
    exec(cell, names)
    for name in ("pc_image", "measure"):
        exec(definition(NOTEBOOK, name), names)
    return names


def _figures(physics: dict, specimen: str, ring: float) -> dict[str, float]:
    phi = physics["phases"][specimen]
    radius = physics["specimens"][specimen][1]
    return physics["measure"](physics["pc_image"](phi, ring), radius, nucleus=radius > 10)


def test_rounded_cell_phase_is_about_four_radians(physics):
    assert physics["phases"]["rounded (mitotic)"].max() == pytest.approx(4.28, abs=0.05)
    assert physics["phases"]["flat (interphase)"].max() == pytest.approx(1.14, abs=0.05)


def test_positive_phase_contrast_rounded_bright_flat_dark_both_haloed(physics):
    rounded = _figures(physics, "rounded (mitotic)", -np.pi / 2)
    flat = _figures(physics, "flat (interphase)", -np.pi / 2)
    assert rounded["inside"] > 2 and rounded["halo"] > 1.05
    assert rounded["centre"] < rounded["inside"]  # brightest just inside the edge
    assert flat["inside"] < 0.6 and flat["halo"] > 1.05


def test_flipped_ring_inverts_the_flat_cell_but_not_the_rounded_one(physics):
    flat = _figures(physics, "flat (interphase)", np.pi / 2)
    assert flat["inside"] > 1 and flat["halo"] < 1
    rounded = _figures(physics, "rounded (mitotic)", np.pi / 2)
    assert rounded["inside"] > 2 and rounded["halo"] > 1.05


def test_small_phase_formula_fails_for_the_rounded_cell(physics):
    unit = physics["phases"]["rounded (mitotic)"] / physics["phases"]["rounded (mitotic)"].max()
    r_um, pc_image = physics["r_um"], physics["pc_image"]
    weak, real = (pc_image(p * unit)[r_um < 6].mean() for p in (0.05, 4.28))
    slope = (weak - 1) / 0.05
    assert slope < 0  # weak phase: darker than the background
    assert 1 + slope * 4.28 < 0 and real > 1  # the line predicts a negative intensity


def test_one_frame_copy_is_the_window_network_fed_one_frame_repeated():
    names = {"nn": nn, "torch": torch, "UNet": UNet}
    exec(definition(NOTEBOOK, "one_frame_copy"), names)
    torch.manual_seed(0)
    window = UNet(5, 1, width=16, depth=3).eval()
    one = names["one_frame_copy"](window).eval()
    frame = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(one(frame), window(frame.repeat(1, 5, 1, 1)), atol=1e-5)
