"""``keras.datasets`` for converted programs: the course's copies, in Keras's layout and dtypes.

``keras_datasets.fashion_mnist.load_data()`` returns what ``keras.datasets.fashion_mnist
.load_data()`` returns (the same arrays, shapes and dtypes), read from the course's data
directory (``DLCOURSE_DATA``) through :mod:`dlcourse.data`. ``dlcourse convert`` rewrites
``keras.datasets.X`` to ``keras_datasets.X``; the differences are in each module's docstring.
"""

from dlcourse.convert.keras_datasets import boston_housing, cifar10, fashion_mnist, imdb, mnist

SUPPORTED = ("mnist", "fashion_mnist", "cifar10", "imdb", "boston_housing")
"""The ``keras.datasets`` modules that have a course copy."""

NOTES = {
    "mnist": "read from DLCOURSE_DATA/MNIST/raw (the official idx files; not downloaded)",
    "fashion_mnist": "the same arrays: uint8 images (N, 28, 28), uint8 labels",
    "cifar10": "the same arrays: uint8 images (N, 32, 32, 3), uint8 labels (N, 1)",
    "imdb": "Keras's encoding (1 = start, 2 = out of vocabulary, words from 4 by frequency) over "
    "the course's own tokenization of the reviews, so word indices differ from Keras's",
    "boston_housing": "the same split (seed 113, 20 % test) and float64 arrays",
}
"""What the report says about each dataset."""

__all__ = ["NOTES", "SUPPORTED", "boston_housing", "cifar10", "fashion_mnist", "imdb", "mnist"]
