"""Fashion-MNIST: 70,000 grey 28x28 images of clothes in 10 classes, from the official idx files."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from dlcourse.data.containers import ImageData
from dlcourse.data.files import gunzip_file, gzip_size
from dlcourse.data.registry import Dataset, DatasetError, RemoteFile
from dlcourse.data.store import ensure, resolve_root

CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
FOLDER = "FashionMNIST/raw"  # torchvision's layout
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # idx: unsigned bytes, 3 and 1 dimensions
SIDE = 28

# The official files, their sizes and the md5s published in the zalandoresearch/fashion-mnist
# README (also torchvision's list). Mirrors: the GitHub repository holds the same files; Keras
# serves files of the same sizes (the md5 check decides).
_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)
_FILES = {
    "train-images-idx3-ubyte": ("md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
    "train-labels-idx1-ubyte": ("md5:25c81989df183df01b3e8a0aad5dffbe", 29515),
    "t10k-images-idx3-ubyte": ("md5:bef4ecab320f06d8554ea6380940ec79", 4422102),
    "t10k-labels-idx1-ubyte": ("md5:bb300cfdad3c16e7a12a480ee83cd310", 5148),
}


def _source(raw: Path, name: str) -> Path | None:
    """The plain idx file when present, else its .gz, else None."""
    for path in (raw / name, raw / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _require(raw: Path, name: str) -> Path:
    path = _source(raw, name)
    if path is None:
        raise DatasetError(f"{raw / name} (or {name}.gz) has disappeared; fetch the data again.")
    return path


def _locate(root: Path) -> Path | None:
    raw = root / FOLDER
    return raw if all(_source(raw, name) for name in _FILES) else None


def _install(downloads: Path, root: Path) -> None:
    raw = root / FOLDER
    missing = [name for name in _FILES if _source(raw, name) is None]
    sizes = [gzip_size(downloads / f"{name}.gz") or 0 for name in missing]
    for i, name in enumerate(missing):  # sum(sizes[i:]): for a full disk's message
        gunzip_file(downloads / f"{name}.gz", raw / name, sum(sizes[i:]) or None)


SPEC = Dataset(
    name="fashion_mnist",
    title="Fashion-MNIST",
    folder=FOLDER,
    layout=tuple(f"{FOLDER}/{name}  (the plain idx file, or {name}.gz)" for name in _FILES),
    locate=_locate,
    remote=tuple(
        RemoteFile(f"{name}.gz", tuple(m + f"{name}.gz" for m in _MIRRORS), known, size)
        for name, (known, size) in _FILES.items()
    ),
    install=_install,
    licence="MIT (Zalando SE)",
    citation="Xiao, Rasul and Vollgraf (2017), Fashion-MNIST, arXiv:1708.07747",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read an idx file of unsigned bytes (plain or .gz) with the given magic number."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
            raw = bytearray(fh.read())
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DatasetError(f"{path} is truncated or corrupt ({err}); replace it.") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header or struct.unpack(">I", raw[:4])[0] != magic:
        raise DatasetError(
            f"{path} is not an idx file of the expected kind (magic number {magic} missing); "
            "replace it with the official file."
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        problem = "is truncated" if len(raw) < expected else "has trailing bytes"
        raise DatasetError(
            f"{path} {problem}: its header promises {expected} bytes, the file has {len(raw)}. "
            "Delete it and run `dlcourse data fetch fashion_mnist`, or replace it by hand."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_split(raw: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    images_path = _require(raw, f"{prefix}-images-idx3-ubyte")
    labels_path = _require(raw, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise DatasetError(f"{images_path} holds {images.shape[1:]} images, not {SIDE}x{SIDE}.")
    if len(images) != len(labels) or (len(labels) and labels.max() >= len(CLASSES)):
        raise DatasetError(
            f"{labels_path} does not match {images_path} ({len(labels)} labels for "
            f"{len(images)} images, labels must be 0-9); replace both files."
        )
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def load_fashion_mnist(root: Path | str | None = None, download: bool = True) -> ImageData:
    """Load Fashion-MNIST into memory.

    Uses the idx files under ``<root>/FashionMNIST/raw/`` (plain, or ``.gz``), downloading them
    from the official host or its mirrors (md5-checked) when missing. ``root`` defaults to the
    course data directory (``DLCOURSE_DATA``).

    Returns an :class:`ImageData`: ``x_train`` uint8 [60000, 1, 28, 28] and ``y_train`` int64
    [60000], ``x_test`` [10000, 1, 28, 28] and ``y_test``, ``classes`` the 10 class names.
    Pixels are 0-255 (scale them yourself). Raises :class:`DatasetError` when the files are
    missing and cannot be downloaded, or are truncated or corrupt.
    """
    raw = ensure(SPEC, resolve_root(root), download)
    x_train, y_train = _read_split(raw, "train")
    x_test, y_test = _read_split(raw, "t10k")
    return ImageData(x_train, y_train, x_test, y_test, list(CLASSES))
