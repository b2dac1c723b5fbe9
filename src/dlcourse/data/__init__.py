"""The course's datasets, loaded into memory as tensors or arrays.

Every loader takes ``root`` (default: the data directory, ``DLCOURSE_DATA`` or
``~/.cache/dlcourse``) and ``download`` (default True). A dataset already present there in its
official extracted layout is used as it is, without network access; otherwise its files are
downloaded from the official host or a mirror through pooch, hash-checked, and unpacked safely.
When that is impossible, a :class:`DatasetError` says which files to place where.
"""

from dlcourse.data.boston import load_boston_housing
from dlcourse.data.catalog import DATASETS, fetch, get_dataset
from dlcourse.data.cifar10 import load_cat_vs_dog, load_cifar10
from dlcourse.data.containers import ImageData, SegmentationData, TabularData, TextData
from dlcourse.data.fashion_mnist import load_fashion_mnist
from dlcourse.data.folder import MaskedImages, load_mask_folder
from dlcourse.data.imdb import load_imdb, load_imdb_texts
from dlcourse.data.isbi2012 import load_isbi2012
from dlcourse.data.minilm import minilm_files
from dlcourse.data.registry import Dataset, DatasetError, RemoteFile
from dlcourse.data.text import Vocab, multi_hot, tokenize

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetError",
    "ImageData",
    "MaskedImages",
    "RemoteFile",
    "SegmentationData",
    "TabularData",
    "TextData",
    "Vocab",
    "fetch",
    "get_dataset",
    "load_boston_housing",
    "load_cat_vs_dog",
    "load_cifar10",
    "load_fashion_mnist",
    "load_imdb",
    "load_imdb_texts",
    "load_isbi2012",
    "load_mask_folder",
    "minilm_files",
    "multi_hot",
    "tokenize",
]
