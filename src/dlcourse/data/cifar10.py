"""CIFAR-10: 60,000 colour 32x32 images in 10 classes, from the official python-pickle batches."""

from __future__ import annotations

import codecs
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from dlcourse.data.archive import extract_tar
from dlcourse.data.containers import ImageData
from dlcourse.data.registry import Dataset, DatasetError, RemoteFile
from dlcourse.data.store import ensure, resolve_root

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
PIXELS = 3 * 32 * 32
CAT, DOG = 3, 5
ARCHIVE = "cifar-10-python.tar.gz"

# sha256 as published by keras.datasets.cifar10 (torchvision lists md5 c58f3010...349a); the
# PaddlePaddle mirror serves the same archive.
_REMOTE = RemoteFile(
    name=ARCHIVE,
    urls=(
        f"https://www.cs.toronto.edu/~kriz/{ARCHIVE}",
        f"https://dataset.bj.bcebos.com/cifar/{ARCHIVE}",
    ),
    known_hash="sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    size=170498071,
)


def _locate(root: Path) -> Path | None:
    folder = root / FOLDER
    names = (*TRAIN_BATCHES, TEST_BATCH, META)
    return folder if all((folder / name).is_file() for name in names) else None


def _install(downloads: Path, root: Path) -> None:
    extract_tar(downloads / ARCHIVE, root, FOLDER)


SPEC = Dataset(
    name="cifar10",
    title="CIFAR-10",
    folder=FOLDER,
    layout=tuple(f"{FOLDER}/{name}" for name in (*TRAIN_BATCHES, TEST_BATCH, META)),
    locate=_locate,
    remote=(_REMOTE,),
    install=_install,
    licence="no licence stated; cite the tech report",
    citation="Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images",
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
)

_RECONSTRUCT = np.empty(0).__reduce__()[0]
_FROMBUFFER = np.empty(0).__reduce_ex__(5)[0]
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("_codecs", "encode"): codecs.encode,
}


class _BatchUnpickler(pickle.Unpickler):
    """Reads CIFAR batches (dicts of lists and NumPy arrays) and refuses every other object, so
    that a tampered batch file cannot run code."""

    def __init__(self, fh: BinaryIO) -> None:
        super().__init__(fh, encoding="bytes")

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}") from None


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            content = _BatchUnpickler(fh).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as err:
        raise DatasetError(
            f"{path} is not a readable CIFAR-10 batch ({err}). Delete the folder {path.parent} "
            "and run `dlcourse data fetch cifar10`."
        ) from None
    if not isinstance(content, dict):
        raise DatasetError(f"{path} is not a CIFAR-10 batch (no dictionary inside).")
    return content


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: images uint8 [N, 3, 32, 32] and labels int64 [N]."""
    batch = _unpickle(path)
    data = np.asarray(batch.get(b"data"))
    labels = np.asarray(batch.get(b"labels"))
    if (
        data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != PIXELS
        or labels.shape != (len(data),)
        or labels.dtype.kind not in "iu"
        or (len(labels) and not (labels.min() >= 0 and labels.max() <= 9))
    ):
        raise DatasetError(
            f"{path} is not a CIFAR-10 batch (expected b'data' uint8 N x {PIXELS} and N labels "
            "0-9). Delete the folder and run `dlcourse data fetch cifar10`."
        )
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _class_names(path: Path) -> list[str]:
    names = _unpickle(path).get(b"label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise DatasetError(f"{path} does not list the 10 CIFAR-10 class names.")
    return [_class_name(path, i, name) for i, name in enumerate(names)]


def _class_name(path: Path, i: int, name: object) -> str:
    """Class name ``i`` of ``batches.meta`` as text; :class:`DatasetError` naming the file
    when it is not UTF-8 text."""
    if isinstance(name, str):
        return name
    if isinstance(name, bytes):
        try:
            return name.decode("utf-8")
        except UnicodeDecodeError as err:
            problem = f"is not UTF-8 text ({err.reason} at byte {err.start}: {name!r})"
    else:
        problem = f"is a {type(name).__name__}, not text ({name!r})"
    raise DatasetError(
        f"{path} is not a CIFAR-10 batches.meta: class name {i} {problem}. Delete the folder "
        f"{path.parent} and run `dlcourse data fetch cifar10`."
    )


def _class_indices(classes: Sequence[int | str], names: list[str]) -> list[int]:
    indices = []
    for c in classes:
        if isinstance(c, str) and c in names:
            indices.append(names.index(c))
        elif isinstance(c, int) and 0 <= c < len(names):
            indices.append(c)
        else:
            raise ValueError(f"unknown CIFAR-10 class {c!r}: use 0-9 or one of {names}.")
    if len(set(indices)) != len(indices) or not indices:
        raise ValueError(f"classes={list(classes)!r} must name distinct classes, at least one.")
    return indices


def _sample(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=k, replace=False))


def load_cifar10(
    classes: Sequence[int | str] | None = None,
    subset: int | None = None,
    seed: int = 0,
    root: Path | str | None = None,
    download: bool = True,
) -> ImageData:
    """Load CIFAR-10 into memory.

    Reads the python-pickle batches under ``<root>/cifar-10-batches-py/`` (as
    ``keras.datasets.cifar10`` does, without torchvision's per-file md5 check, so copies rebuilt
    elsewhere load too), downloading and extracting the official archive (sha256-checked) when
    they are missing. ``root`` defaults to the course data directory (``DLCOURSE_DATA``).

    ``classes``: keep only these classes (indices 0-9 or names such as ``"cat"``), relabelled
    0..k-1 in the order given. ``subset``: keep a random sample of ``subset`` training images
    (drawn with ``seed``) and the same fraction of the test images.

    Returns an :class:`ImageData`: ``x_train`` uint8 [50000, 3, 32, 32] (channels first, RGB),
    ``y_train`` int64 [50000], ``x_test`` [10000, 3, 32, 32], ``y_test``, ``classes`` the class
    names (fewer rows with ``classes`` or ``subset``). ``numpy_splits()`` gives Keras's
    [N, 32, 32, 3] layout.
    """
    folder = ensure(SPEC, resolve_root(root), download)
    names = _class_names(folder / META)
    train = [read_batch(folder / name) for name in TRAIN_BATCHES]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    x_test, y_test = read_batch(folder / TEST_BATCH)
    if classes is not None:
        indices = _class_indices(classes, names)
        relabel = np.full(len(names), -1, dtype=np.int64)
        relabel[indices] = np.arange(len(indices))
        keep_train, keep_test = relabel[y_train] >= 0, relabel[y_test] >= 0
        x_train, y_train = x_train[keep_train], relabel[y_train[keep_train]]
        x_test, y_test = x_test[keep_test], relabel[y_test[keep_test]]
        names = [names[i] for i in indices]
    if subset is not None:
        if not 1 <= subset <= len(x_train):
            raise ValueError(f"subset={subset} must be between 1 and {len(x_train)}.")
        rng = np.random.default_rng(seed)
        n_test = max(1, round(subset * len(x_test) / len(x_train)))
        keep_train = _sample(len(x_train), subset, rng)
        keep_test = _sample(len(x_test), n_test, rng)
        x_train, y_train = x_train[keep_train], y_train[keep_train]
        x_test, y_test = x_test[keep_test], y_test[keep_test]
    x_train, x_test = (np.require(x, requirements=["C", "W"]) for x in (x_train, x_test))
    return ImageData(
        torch.from_numpy(x_train),
        torch.from_numpy(y_train),
        torch.from_numpy(x_test),
        torch.from_numpy(y_test),
        names,
    )


def load_cat_vs_dog(
    subset: int | None = None,
    seed: int = 0,
    root: Path | str | None = None,
    download: bool = True,
) -> ImageData:
    """The course's cat-vs-dog task: CIFAR-10 classes 3 (cat) and 5 (dog) as labels 0 and 1.

    Returns an :class:`ImageData` with 10,000 training and 2,000 test images (uint8
    [N, 3, 32, 32]) and ``classes == ["cat", "dog"]``; ``subset`` and ``seed`` as in
    :func:`load_cifar10`.
    """
    return load_cifar10(classes=(CAT, DOG), subset=subset, seed=seed, root=root, download=download)
