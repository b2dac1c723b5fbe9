"""Sub-pixel shifts of labels and predictions (``dlcourse.segmentation.offset``)."""

from __future__ import annotations

import pytest
import torch

from dlcourse.segmentation.offset import shift


def _band(rows: slice, size: int = 16) -> torch.Tensor:
    x = torch.zeros(2, 1, size, size)
    x[..., rows, :] = 1.0
    return x


def test_a_whole_pixel_shift_moves_every_pixel_by_one():
    x = torch.rand(2, 3, 12, 10)
    moved = shift(x, 1.0, -2.0)
    assert torch.allclose(moved[..., 1:, :-2], x[..., :-1, 2:], atol=1e-6)


def test_a_fraction_of_a_pixel_moves_the_centre_of_a_line_by_that_fraction():
    x = _band(slice(6, 9))
    moved = shift(x, 0.6, 0.0)
    rows = torch.arange(16.0)[:, None]
    centre = (moved[0, 0] * rows).sum() / moved[0, 0].sum()
    assert centre.item() == pytest.approx(7.6, abs=1e-5)
    assert moved[0, 0, 6, 0].item() == pytest.approx(0.4, abs=1e-5)  # partly covered


def test_columns_shift_to_the_right_for_positive_dx():
    x = _band(slice(6, 9)).transpose(-2, -1).contiguous()
    moved = shift(x, 0.0, 0.5)
    cols = torch.arange(16.0)
    centre = (moved[0, 0, 0] * cols).sum() / moved[0, 0, 0].sum()
    assert centre.item() == pytest.approx(7.5, abs=1e-5)


def test_edges_repeat_instead_of_filling_with_zeros():
    x = torch.ones(1, 1, 8, 8)
    assert torch.allclose(shift(x, 0.6, -0.2), x)
    assert torch.allclose(shift(x, -2.5, 3.0), x)


def test_shifting_there_and_back_keeps_a_thresholded_mask():
    torch.manual_seed(0)
    mask = (torch.rand(1, 1, 64, 64) > 0.98).float()
    mask = torch.nn.functional.max_pool2d(mask, 5, stride=1, padding=2)  # 5x5 blobs
    back = shift(shift(mask, 0.6, 0.2), -0.6, -0.2)
    assert ((back > 0.5).float() == mask).float().mean() > 0.99


def test_zero_shift_is_the_identity():
    x = torch.rand(1, 2, 9, 7)
    assert torch.allclose(shift(x, 0.0, 0.0), x, atol=1e-6)


@pytest.mark.parametrize(
    "x", [torch.zeros(8, 8), torch.zeros(1, 8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.uint8)]
)
def test_shapes_and_types_other_than_float_images_are_refused(x):
    with pytest.raises(ValueError, match="float images"):
        shift(x, 0.5, 0.5)


@pytest.mark.parametrize("dy, dx", [(float("nan"), 0.0), (0.0, float("inf"))])
def test_non_finite_shifts_are_refused(dy, dx):
    with pytest.raises(ValueError, match="finite"):
        shift(torch.zeros(1, 1, 8, 8), dy, dx)


@pytest.mark.parametrize("dy, dx", [(8.0, 0.0), (0.0, -9.5), (1e12, 0.0)])
def test_shifts_as_large_as_the_image_are_refused(dy, dx):
    with pytest.raises(ValueError, match="out of view"):
        shift(torch.zeros(1, 1, 8, 9), dy, dx)
