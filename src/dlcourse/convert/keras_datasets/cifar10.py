"""``keras.datasets.cifar10``: images uint8 (N, 32, 32, 3), labels uint8 (N, 1)."""

from __future__ import annotations

from dlcourse.convert.keras_datasets._images import Splits, keras_splits
from dlcourse.data import load_cifar10


def load_data() -> Splits:
    """``(x_train, y_train), (x_test, y_test)``: 50,000 and 10,000 images, as Keras's."""
    return keras_splits(load_cifar10(), label_shape=(1,))
