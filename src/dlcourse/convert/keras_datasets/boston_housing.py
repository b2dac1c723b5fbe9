"""``keras.datasets.boston_housing``: float64 arrays, Keras's split (seed 113, 20 % test)."""

from __future__ import annotations

import numpy as np

from dlcourse.data import load_boston_housing


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """``(x_train, y_train), (x_test, y_test)``: 404 and 102 rows of 13 features, as Keras's."""
    data = load_boston_housing()
    if test_split == 0.2 and seed == 113:  # the loader's own split is Keras's default one
        (x_train, y_train), (x_test, y_test) = data.numpy_splits()
    else:  # undo the loader's shuffle, then shuffle and split as Keras does
        x = np.concatenate([data.x_train, data.x_test])
        y = np.concatenate([data.y_train, data.y_test])
        original = np.arange(len(x))
        np.random.RandomState(113).shuffle(original)
        x_orig, y_orig = np.empty_like(x), np.empty_like(y)
        x_orig[original], y_orig[original] = x, y
        order = np.arange(len(x))
        np.random.RandomState(seed).shuffle(order)
        n_train = int(len(x) * (1 - test_split))
        x, y = x_orig[order], y_orig[order]
        (x_train, y_train), (x_test, y_test) = (
            (x[:n_train], y[:n_train]),
            (x[n_train:], y[n_train:]),
        )
    as64 = [a.astype(np.float64) for a in (x_train, y_train, x_test, y_test)]
    return (as64[0], as64[1]), (as64[2], as64[3])
