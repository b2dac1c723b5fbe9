"""The real datasets in DLCOURSE_DATA (CI provisions them), loaded with the network blocked.

Each dataset is loaded once per module, under a block that fails the test on any connection,
download attempt or file hashing; a dataset that is not there is skipped.
"""

from __future__ import annotations

import pytest
import torch
from data_fixtures import block_network

from dlcourse.config import data_dir
from dlcourse.data import (
    DATASETS,
    fetch,
    load_boston_housing,
    load_cat_vs_dog,
    load_cifar10,
    load_fashion_mnist,
    load_imdb,
    load_isbi2012,
)

pytestmark = pytest.mark.realdata


def offline_load(name: str, loader, **kwargs):
    root = data_dir()
    if DATASETS[name].locate(root) is None:
        pytest.skip(f"{name} is not in {root} (run ../shared/data/provision.py or fetch it)")
    with pytest.MonkeyPatch.context() as mp:
        block_network(mp)
        return loader(**kwargs)


@pytest.fixture(scope="module")
def fashion():
    return offline_load("fashion_mnist", load_fashion_mnist)


@pytest.fixture(scope="module")
def cifar():
    return offline_load("cifar10", load_cifar10)


@pytest.fixture(scope="module")
def imdb():
    return offline_load("imdb", load_imdb, num_words=10000, maxlen=256)


def per_class(labels: torch.Tensor) -> list[int]:
    return torch.bincount(labels).tolist()


def test_fashion_mnist(fashion):
    assert tuple(fashion.x_train.shape) == (60000, 1, 28, 28)
    assert tuple(fashion.x_test.shape) == (10000, 1, 28, 28)
    assert per_class(fashion.y_train) == [6000] * 10 and per_class(fashion.y_test) == [1000] * 10
    assert fashion.numpy_splits()[0][0].shape == (60000, 28, 28)


def test_cifar10(cifar):
    assert tuple(cifar.x_train.shape) == (50000, 3, 32, 32) and cifar.x_train.dtype == torch.uint8
    assert tuple(cifar.x_test.shape) == (10000, 3, 32, 32)
    assert per_class(cifar.y_train) == [5000] * 10 and per_class(cifar.y_test) == [1000] * 10
    assert cifar.numpy_splits()[1][0].shape == (10000, 32, 32, 3)
    assert cifar.classes[3] == "cat" and cifar.classes[5] == "dog"


def test_cat_vs_dog():
    data = offline_load("cifar10", load_cat_vs_dog)
    assert tuple(data.x_train.shape) == (10000, 3, 32, 32) and len(data.x_test) == 2000
    assert per_class(data.y_train) == [5000, 5000] and per_class(data.y_test) == [1000, 1000]


def test_imdb(imdb):
    assert tuple(imdb.x_train.shape) == (25000, 256) and tuple(imdb.x_test.shape) == (25000, 256)
    assert per_class(imdb.y_train) == [12500, 12500] and per_class(imdb.y_test) == [12500, 12500]
    assert len(imdb.vocab) == 10000 and int(imdb.x_train.max()) < 10000
    assert imdb.vocab.itos[2] == "the"


def test_isbi2012():
    data = offline_load("isbi2012", load_isbi2012)
    assert tuple(data.images.shape) == (30, 1, 512, 512)
    assert tuple(data.masks.shape) == (30, 1, 512, 512)
    assert set(data.masks.unique().tolist()) == {0, 1}


def test_boston_housing():
    data = offline_load("boston_housing", load_boston_housing)
    assert data.x_train.shape == (404, 13) and data.x_test.shape == (102, 13)


def test_fetch_finds_every_present_dataset_offline():
    root = data_dir()
    present = [name for name, spec in DATASETS.items() if spec.locate(root) is not None]
    if len(present) < len(DATASETS):
        pytest.skip(f"only {present} are in {root}")
    with pytest.MonkeyPatch.context() as mp:
        block_network(mp)
        for name in present:
            assert fetch(name) == DATASETS[name].locate(root)
