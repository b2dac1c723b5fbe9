"""``keras.datasets.fashion_mnist``: images uint8 (N, 28, 28), labels uint8 (N,)."""

from __future__ import annotations

from dlcourse.convert.keras_datasets._images import Splits, keras_splits
from dlcourse.data import load_fashion_mnist


def load_data() -> Splits:
    """``(x_train, y_train), (x_test, y_test)``: 60,000 and 10,000 images, as Keras's."""
    return keras_splits(load_fashion_mnist())
