"""Fashion-MNIST and CIFAR-10 loaders on files written in the official formats."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from data_fixtures import (
    CIFAR_NAMES,
    cifar_batch,
    fashion_arrays,
    idx_bytes,
    write_cifar,
    write_fashion,
)

from dlcourse.data import (
    DatasetError,
    load_cat_vs_dog,
    load_cifar10,
    load_fashion_mnist,
)

# --- Fashion-MNIST ------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_fashion_mnist_reads_plain_or_gzipped_idx(tmp_path, gz):
    write_fashion(tmp_path, gz=gz, n_train=12, n_test=5)
    data = load_fashion_mnist(root=tmp_path, download=False)
    images, labels = fashion_arrays(12, seed=0)
    assert data.x_train.dtype == torch.uint8 and tuple(data.x_train.shape) == (12, 1, 28, 28)
    assert data.y_train.dtype == torch.int64 and tuple(data.x_test.shape) == (5, 1, 28, 28)
    assert np.array_equal(data.x_train[:, 0].numpy(), images)
    assert np.array_equal(data.y_train.numpy(), labels)
    assert data.classes[0] == "T-shirt/top" and len(data.classes) == 10


def test_fashion_mnist_numpy_splits_use_keras_layout(tmp_path):
    write_fashion(tmp_path)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(tmp_path).numpy_splits()
    assert x_train.shape == (12, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (12,) and x_test.shape == (5, 28, 28) and y_test.shape == (5,)


def test_truncated_idx_file_is_named_in_the_error(tmp_path):
    raw = write_fashion(tmp_path)
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte is truncated"):
        load_fashion_mnist(tmp_path)


def test_truncated_gzipped_idx_file_is_named_in_the_error(tmp_path):
    raw = write_fashion(tmp_path, gz=True)
    path = raw / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz is truncated"):
        load_fashion_mnist(tmp_path)


def test_wrong_kind_of_idx_file_is_refused(tmp_path):
    raw = write_fashion(tmp_path)
    labels = (raw / "train-labels-idx1-ubyte").read_bytes()
    (raw / "train-images-idx3-ubyte").write_bytes(labels)
    with pytest.raises(DatasetError, match="magic number 2051"):
        load_fashion_mnist(tmp_path)


def test_labels_that_do_not_match_the_images_are_refused(tmp_path):
    raw = write_fashion(tmp_path)
    (raw / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DatasetError, match="3 labels for 12 images"):
        load_fashion_mnist(tmp_path)


def test_missing_fashion_mnist_without_download_says_what_to_place(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(tmp_path, download=False)
    message = str(err.value)
    assert "download=False" in message and "DLCOURSE_DATA" in message
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f"FashionMNIST/raw/{name}" in message


# --- CIFAR-10 -----------------------------------------------------------------------------


@pytest.fixture
def cifar_root(tmp_path):
    write_cifar(tmp_path, per_batch=20)
    return tmp_path


def test_cifar10_batches_load_channels_first(cifar_root):
    data = load_cifar10(root=cifar_root, download=False)
    assert tuple(data.x_train.shape) == (100, 3, 32, 32) and data.x_train.dtype == torch.uint8
    assert tuple(data.x_test.shape) == (20, 3, 32, 32) and data.y_train.dtype == torch.int64
    assert data.classes == CIFAR_NAMES
    first = cifar_batch(20, seed=0)
    red_plane = first[b"data"][0, :1024].reshape(32, 32)
    assert np.array_equal(data.x_train[0, 0].numpy(), red_plane)
    assert data.y_train[:20].tolist() == first[b"labels"]
    (x_train, _), (x_test, _) = data.numpy_splits()
    assert x_train.shape == (100, 32, 32, 3) and x_test.shape == (20, 32, 32, 3)
    assert np.array_equal(x_train[0, :, :, 0], red_plane)


def test_cifar10_class_selection_relabels_in_the_order_given(cifar_root):
    full = load_cifar10(root=cifar_root)
    data = load_cifar10(classes=["dog", 3], root=cifar_root)
    assert data.classes == ["dog", "cat"]
    assert len(data.x_train) == 20 and len(data.x_test) == 4
    dogs = full.x_train[full.y_train == 5]
    assert torch.equal(data.x_train[data.y_train == 0], dogs)
    assert set(data.y_test.tolist()) == {0, 1}


def test_cat_vs_dog_maps_cat_to_0_and_dog_to_1(cifar_root):
    data = load_cat_vs_dog(root=cifar_root)
    full = load_cifar10(root=cifar_root)
    assert data.classes == ["cat", "dog"]
    assert torch.equal(data.x_train[data.y_train == 0], full.x_train[full.y_train == 3])
    assert torch.equal(data.x_train[data.y_train == 1], full.x_train[full.y_train == 5])


def test_cifar10_subset_is_seeded_and_keeps_the_split_ratio(cifar_root):
    a = load_cifar10(subset=50, seed=1, root=cifar_root)
    b = load_cifar10(subset=50, seed=1, root=cifar_root)
    c = load_cifar10(subset=50, seed=2, root=cifar_root)
    assert len(a.x_train) == 50 and len(a.x_test) == 10
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"subset": 0}, "subset=0"),
        ({"subset": 101}, "subset=101"),
        ({"classes": ["unicorn"]}, "unknown CIFAR-10 class 'unicorn'"),
        ({"classes": [3, "cat"]}, "distinct"),
    ],
)
def test_cifar10_bad_options_are_explained(cifar_root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_cifar10(root=cifar_root, **kwargs)


def test_truncated_cifar_batch_is_named_in_the_error(cifar_root):
    path = cifar_root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="data_batch_3 is not a readable CIFAR-10 batch"):
        load_cifar10(root=cifar_root)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_cifar_batch_that_would_run_code_is_refused(cifar_root, monkeypatch):
    monkeypatch.chdir(cifar_root)
    batch = cifar_batch(20, seed=0)
    batch[b"labels"] = _Exploit()
    with open(cifar_root / "cifar-10-batches-py" / "test_batch", "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
    with pytest.raises(DatasetError, match="refers to posix.system|refers to os.system"):
        load_cifar10(root=cifar_root)
    assert not (cifar_root / "pwned").exists()


def test_cifar_batch_with_wrong_shapes_is_refused(cifar_root):
    batch = cifar_batch(20, seed=0)
    batch[b"data"] = batch[b"data"][:, :100]
    with open(cifar_root / "cifar-10-batches-py" / "data_batch_1", "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
    with pytest.raises(DatasetError, match="data_batch_1 is not a CIFAR-10 batch"):
        load_cifar10(root=cifar_root)


def test_missing_cifar_without_download_says_what_to_place(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(DatasetError, match="cifar-10-batches-py/test_batch"):
        load_cat_vs_dog(root=tmp_path, download=False)


def test_plain_idx_files_are_preferred_over_their_gz(tmp_path):
    write_fashion(tmp_path, gz=True, n_train=12, n_test=5)
    write_fashion(tmp_path, n_train=7, n_test=3)
    data = load_fashion_mnist(tmp_path)
    assert len(data.x_train) == 7 and len(data.x_test) == 3


@pytest.mark.parametrize(
    "names",
    [
        [b"\xff\xfeplane", *(n.encode() for n in CIFAR_NAMES[1:])],  # not UTF-8
        [1, *(n.encode() for n in CIFAR_NAMES[1:])],  # not a name at all
    ],
)
def test_cifar_class_names_that_do_not_decode_are_named_in_the_error(cifar_root, names):
    meta = cifar_root / "cifar-10-batches-py" / "batches.meta"
    with open(meta, "wb") as fh:
        pickle.dump({b"label_names": names, b"num_vis": 3072}, fh, protocol=2)
    with pytest.raises(DatasetError) as err:
        load_cifar10(root=cifar_root, download=False)
    message = str(err.value)
    assert str(meta) in message and "class name 0" in message
    assert "dlcourse data fetch cifar10" in message
