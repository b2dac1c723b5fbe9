"""``keras.datasets.mnist``: images uint8 (N, 28, 28), labels uint8 (N,).

The course has no MNIST loader: this reads the official idx files (plain or ``.gz``) from
``<DLCOURSE_DATA>/MNIST/raw/`` (torchvision's layout) and downloads nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcourse.convert.keras_datasets._images import Splits
from dlcourse.data.fashion_mnist import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from dlcourse.data.registry import DatasetError
from dlcourse.data.store import resolve_root

FOLDER = "MNIST/raw"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(raw: Path, name: str) -> Path:
    for path in (raw / name, raw / f"{name}.gz"):
        if path.is_file():
            return path
    wanted = ", ".join(f"{n}[.gz]" for pair in FILES.values() for n in pair)
    raise DatasetError(
        f"MNIST is not in the data directory: {raw / name} (or .gz) is missing. Put the four "
        f"official files ({wanted}) in {raw}, then run again."
    )


def load_data(root: Path | str | None = None) -> Splits:
    """``(x_train, y_train), (x_test, y_test)`` from the idx files under ``<root>/MNIST/raw``."""
    raw = resolve_root(root) / FOLDER
    result = []
    for images_name, labels_name in FILES.values():
        images = read_idx(_find(raw, images_name), IMAGES_MAGIC)
        labels = read_idx(_find(raw, labels_name), LABELS_MAGIC)
        if len(images) != len(labels):
            raise DatasetError(f"{raw}: {len(images)} images but {len(labels)} labels")
        result.append((np.array(images), np.array(labels)))
    return result[0], result[1]
