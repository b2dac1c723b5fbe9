"""ISBI 2012 on PNG pairs written by the test, and the embedded Boston housing table."""

from __future__ import annotations

import os
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from data_fixtures import isbi_arrays, write_isbi
from PIL import Image

from dlcourse.data import (
    DatasetError,
    SegmentationData,
    load_boston_housing,
    load_isbi2012,
    load_mask_folder,
)
from dlcourse.data import boston as boston_module

# --- ISBI 2012 ----------------------------------------------------------------------------


def test_isbi_images_and_masks_load_with_1_for_cell_and_0_for_membrane(tmp_path):
    write_isbi(tmp_path, side=8)
    data = load_isbi2012(root=tmp_path, download=False)
    assert tuple(data.images.shape) == (30, 1, 8, 8) and data.images.dtype == torch.uint8
    assert tuple(data.masks.shape) == (30, 1, 8, 8) and data.masks.dtype == torch.uint8
    image, label = isbi_arrays(7)
    assert np.array_equal(data.images[7, 0].numpy(), image)
    assert np.array_equal(data.masks[7, 0].numpy(), (label == 255).astype(np.uint8))
    assert SegmentationData.CELL == 1 and SegmentationData.MEMBRANE == 0


def test_corrupt_isbi_png_is_named_in_the_error(tmp_path):
    folder = write_isbi(tmp_path)
    (folder / "label" / "12.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DatasetError, match=r"label/12\.png is not a readable PNG"):
        load_isbi2012(root=tmp_path)


def test_isbi_slices_of_different_sizes_are_refused(tmp_path):
    write_isbi(tmp_path, side=8)
    bigger = write_isbi(tmp_path / "other", side=16)
    os.replace(bigger / "image" / "3.png", tmp_path / "isbi2012" / "train" / "image" / "3.png")
    with pytest.raises(DatasetError, match="differ in size"):
        load_isbi2012(root=tmp_path)


def test_incomplete_isbi_without_download_says_what_to_place(tmp_path):
    folder = write_isbi(tmp_path)
    (folder / "image" / "29.png").unlink()
    with pytest.raises(DatasetError, match=r"isbi2012/train/image/0\.png \.\.\. 29\.png"):
        load_isbi2012(root=tmp_path, download=False)


# --- Boston housing -----------------------------------------------------------------------


def test_boston_embedded_table_is_split_404_102(tmp_path):
    data = load_boston_housing(root=tmp_path)
    assert data.x_train.shape == (404, 13) and data.x_train.dtype == np.float32
    assert data.y_train.shape == (404,) and data.y_train.dtype == np.float32
    assert data.x_test.shape == (102, 13) and data.y_test.shape == (102,)
    assert data.feature_names[:3] == ["CRIM", "ZN", "INDUS"] and "B" in data.feature_names
    assert data.target_name == "MEDV" and len(data.feature_names) == 13
    (x_train, y_train), (x_test, _) = data.numpy_splits()
    assert x_train is data.x_train and y_train is data.y_train and x_test is data.x_test


def test_boston_split_matches_keras(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras_boston = pytest.importorskip("keras.src.datasets.boston_housing")
    _, table = boston_module.read_table(boston_module.EMBEDDED)
    npz = tmp_path / "boston_housing.npz"
    np.savez(npz, x=table[:, :-1], y=table[:, -1])
    monkeypatch.setattr(keras_boston, "get_file", lambda *args, **kwargs: str(npz))
    (kx_train, ky_train), (kx_test, ky_test) = keras_boston.load_data()
    data = load_boston_housing(root=tmp_path)
    np.testing.assert_array_equal(data.x_train, kx_train.astype(np.float32))
    np.testing.assert_array_equal(data.y_train, ky_train.astype(np.float32))
    np.testing.assert_array_equal(data.x_test, kx_test.astype(np.float32))
    np.testing.assert_array_equal(data.y_test, ky_test.astype(np.float32))


def test_boston_copy_in_the_data_directory_takes_precedence(tmp_path):
    lines = boston_module.EMBEDDED.read_text().splitlines()
    doubled = [lines[0]] + [",".join([*row.split(",")[:-1], "99"]) for row in lines[1:]]
    (tmp_path / "boston_housing").mkdir()
    (tmp_path / "boston_housing" / "boston_house_prices.csv").write_text("\n".join(doubled))
    assert set(load_boston_housing(root=tmp_path).y_test.tolist()) == {99.0}


def test_boston_table_of_the_wrong_shape_is_refused(tmp_path):
    (tmp_path / "boston_housing").mkdir()
    bad = tmp_path / "boston_housing" / "boston_house_prices.csv"
    bad.write_text("A,B\n1,2\n")
    with pytest.raises(DatasetError, match="holds 1 rows x 2 columns"):
        load_boston_housing(root=tmp_path)


def forged_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header (IHDR, with a correct CRC) declares ``width`` x ``height``
    grey pixels: opening it reads only the header, nothing that large is allocated."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_900_megapixel_isbi_slice_is_refused_naming_the_file(tmp_path):
    folder = write_isbi(tmp_path)
    (folder / "image" / "4.png").write_bytes(forged_png(30_000, 30_000))
    with pytest.raises(DatasetError) as err:
        load_isbi2012(root=tmp_path)
    message = str(err.value)
    assert str(folder / "image" / "4.png") in message and "900000000 pixels" in message
    assert "dlcourse data fetch isbi2012" in message


@pytest.mark.parametrize("limit", [40, 20])  # 8x8 = 64 pixels: over the limit, over twice it
def test_isbi_slices_over_pils_pixel_limit_are_refused(tmp_path, monkeypatch, limit):
    write_isbi(tmp_path, side=8)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even PIL's DecompressionBombWarning gets out
        with pytest.raises(
            DatasetError, match=r"image/0\.png is too large to read safely: it declares (64|8x8)"
        ):
            load_isbi2012(root=tmp_path)


@pytest.mark.parametrize("limit", [40, 20])
def test_own_images_over_pils_pixel_limit_are_refused(tmp_path, monkeypatch, limit):
    for kind in ("images", "masks"):
        (tmp_path / kind).mkdir()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / kind / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DatasetError, match=r"images/a\.png is too large to read safely"):
            load_mask_folder(tmp_path / "images", tmp_path / "masks")
