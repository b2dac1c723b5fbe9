"""Image datasets as Keras returns them: uint8 (N, H, W) or (N, H, W, C), uint8 labels."""

from __future__ import annotations

import numpy as np

from dlcourse.data.containers import ImageData

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def keras_splits(data: ImageData, label_shape: tuple[int, ...] = ()) -> Splits:
    """``((x_train, y_train), (x_test, y_test))`` with uint8 labels of shape (N, *label_shape)."""
    (x_train, y_train), (x_test, y_test) = data.numpy_splits()

    def labels(y: np.ndarray) -> np.ndarray:
        return y.astype(np.uint8).reshape(len(y), *label_shape)

    return (x_train, labels(y_train)), (x_test, labels(y_test))
