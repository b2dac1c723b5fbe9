"""IMDB: the Large Movie Review Dataset v1.0 (25,000 training and 25,000 test reviews)."""

from __future__ import annotations

import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dlcourse.atomic import atomic_file
from dlcourse.data.archive import extract_tar
from dlcourse.data.containers import TextData
from dlcourse.data.registry import Dataset, RemoteFile
from dlcourse.data.store import ensure, resolve_root
from dlcourse.data.text import PAD, UNK, UNK_ID, Vocab, pad_sequences, tokenize

FOLDER = "aclImdb"
SPLITS = ("train", "test")
LABELS = ("neg", "pos")  # label 0, label 1
ARCHIVE = "aclImdb_v1.tar.gz"
CACHE = "cache/imdb_tokens_v1.npz"  # bump the version whenever tokenize() changes
SHUFFLE_SEED = 113  # as keras.datasets.imdb
# Reviews per class in each split of the official archive (train/unsup is not used).
EXPECTED_REVIEWS = {"train": 12_500, "test": 12_500}

# sha256 and size from the download checksums of Hugging Face's `imdb` dataset (torchtext lists
# md5 7c2ac02c...c153a); d2l.ai's S3 bucket serves the same file (same sha1 in the d2l book).
_REMOTE = RemoteFile(
    name=ARCHIVE,
    urls=(
        f"https://ai.stanford.edu/~amaas/data/sentiment/{ARCHIVE}",
        f"http://d2l-data.s3-accelerate.amazonaws.com/{ARCHIVE}",
    ),
    known_hash="sha256:c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    size=84125825,
)


def _split_dirs(folder: Path) -> list[Path]:
    return [folder / split / label for split in SPLITS for label in LABELS]


def _count_reviews(directory: Path) -> int:
    try:
        with os.scandir(directory) as entries:
            return sum(entry.name.endswith(".txt") for entry in entries)
    except OSError:
        return 0


def _locate(root: Path) -> Path | None:
    """``root/aclImdb`` when each split holds exactly the official number of reviews per class
    (12,500), else None: a partly extracted or trimmed copy is not complete."""
    folder = root / FOLDER
    complete = all(
        _count_reviews(folder / split / label) == EXPECTED_REVIEWS[split]
        for split in SPLITS
        for label in LABELS
    )
    return folder if complete else None


def _install(downloads: Path, root: Path) -> None:
    extract_tar(downloads / ARCHIVE, root, FOLDER)


SPEC = Dataset(
    name="imdb",
    title="IMDB Large Movie Review Dataset v1.0",
    folder=FOLDER,
    layout=tuple(
        f"{FOLDER}/{split}/{label}/*.txt  (12,500 reviews)" for split in SPLITS for label in LABELS
    ),
    locate=_locate,
    remote=(_REMOTE,),
    install=_install,
    licence="no licence stated; cite the paper",
    citation="Maas et al. (2011), Learning Word Vectors for Sentiment Analysis, ACL",
    homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
)


@dataclass
class _Tokenized:
    """Both splits as token ids under the full training vocabulary (id = 2 + frequency rank)."""

    itos: list[str]
    ids: dict[str, np.ndarray]  # split -> int32 ids of all reviews, concatenated
    lengths: dict[str, np.ndarray]  # split -> tokens per review
    labels: dict[str, np.ndarray]  # split -> 0 (neg) / 1 (pos)


def _fingerprint(folder: Path) -> np.ndarray:
    """Modification time and number of entries of the four review folders, which change when
    reviews come or go (edits inside a review are not noticed: delete the cache then)."""
    dirs = _split_dirs(folder)
    return np.array([(d.stat().st_mtime_ns, len(os.listdir(d))) for d in dirs], dtype=np.int64)


def _review_files(folder: Path, split: str) -> tuple[list[Path], np.ndarray]:
    """The review files of one split, negatives then positives, each sorted by name, and
    their labels; ``load_imdb`` orders them by ``RandomState(SHUFFLE_SEED).permutation``."""
    files, labels = [], []
    for label, name in enumerate(LABELS):
        directory = folder / split / name
        names = sorted(f for f in os.listdir(directory) if f.endswith(".txt"))
        files += [directory / f for f in names]
        labels += [label] * len(names)
    return files, np.array(labels, dtype=np.int8)


def _read_text(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def _read_split(folder: Path, split: str, seen: dict[str, int]) -> tuple[np.ndarray, ...]:
    """Ids (first-appearance ids in ``seen``, which grows), lengths and labels of one split."""
    files, labels = _review_files(folder, split)
    docs = [
        np.array([seen.setdefault(t, len(seen)) for t in tokenize(_read_text(f))], np.int32)
        for f in files
    ]
    order = np.random.RandomState(SHUFFLE_SEED).permutation(len(docs))
    ids = np.concatenate([docs[i] for i in order] or [np.empty(0, np.int32)])
    lengths = np.array([len(docs[i]) for i in order], dtype=np.int32)
    return ids, lengths, labels[order]


def _tokenize_folder(folder: Path) -> _Tokenized:
    seen: dict[str, int] = {}
    train = _read_split(folder, "train", seen)
    n_train_words = len(seen)
    test = _read_split(folder, "test", seen)
    # Vocabulary: training words only, most frequent first, ties alphabetical.
    counts = np.bincount(train[0], minlength=n_train_words)
    words = list(seen)
    ranked = sorted(range(n_train_words), key=lambda i: (-counts[i], words[i]))
    remap = np.full(len(seen), UNK_ID, dtype=np.int32)  # words seen only in test -> <unk>
    remap[ranked] = np.arange(2, 2 + n_train_words, dtype=np.int32)
    splits = {"train": train, "test": test}
    return _Tokenized(
        [PAD, UNK, *(words[i] for i in ranked)],
        {name: remap[ids] for name, (ids, _, _) in splits.items()},
        {name: lengths for name, (_, lengths, _) in splits.items()},
        {name: labels for name, (_, _, labels) in splits.items()},
    )


def _save(tok: _Tokenized, path: Path, fingerprint: np.ndarray) -> None:
    arrays = {"fingerprint": fingerprint}
    arrays["itos"] = np.frombuffer("\n".join(tok.itos).encode("utf-8"), dtype=np.uint8)
    for split in SPLITS:
        arrays[f"{split}_ids"] = tok.ids[split]
        arrays[f"{split}_lengths"] = tok.lengths[split]
        arrays[f"{split}_labels"] = tok.labels[split]
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def _load(path: Path, fingerprint: np.ndarray) -> _Tokenized | None:
    """The cached tokens, or None when there is no cache or it is stale or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not np.array_equal(npz["fingerprint"], fingerprint):
                return None
            itos = npz["itos"].tobytes().decode("utf-8").split("\n")
            return _Tokenized(
                itos,
                {split: npz[f"{split}_ids"] for split in SPLITS},
                {split: npz[f"{split}_lengths"] for split in SPLITS},
                {split: npz[f"{split}_labels"] for split in SPLITS},
            )
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def _tokenized(folder: Path, cache: Path) -> _Tokenized:
    """Tokens of the ``aclImdb`` folder, read from ``cache`` or computed and cached there."""
    fingerprint = _fingerprint(folder)
    tok = _load(cache, fingerprint)
    if tok is None:
        tok = _tokenize_folder(folder)
        try:
            _save(tok, cache, fingerprint)
        except OSError as err:
            warnings.warn(
                f"Could not write the IMDB token cache {cache} ({err.strerror or err}); the data "
                "is loaded anyway, but it is tokenized again on every load. Make the data "
                "directory writable to get the cache.",
                stacklevel=3,
            )
    return tok


def load_imdb(
    num_words: int | None = 10000,
    maxlen: int = 256,
    root: Path | str | None = None,
    download: bool = True,
) -> TextData:
    """Load the IMDB reviews as padded token ids.

    Reads ``<root>/aclImdb/{train,test}/{pos,neg}/*.txt``, downloading and extracting the
    official archive (sha256-checked) when missing; ``root`` defaults to the course data
    directory (``DLCOURSE_DATA``). Text is lower-cased, ``<br />`` removed and split into words
    and punctuation; the vocabulary holds the ``num_words`` most frequent training-split tokens
    (``None``: all), counting id 0 = padding and id 1 = unknown word. Reviews are padded with 0
    **at the start** and long ones keep their **last** ``maxlen`` tokens (Keras's default).
    Tokenized reviews are cached in ``<root>/cache/`` so later loads take about a second.

    Returns a :class:`TextData`: ``x_train`` int64 [25000, maxlen], ``y_train`` int64 [25000]
    (0 negative, 1 positive; 12,500 each, shuffled with seed 113), ``x_test``, ``y_test`` the
    same for the test split, ``vocab`` (``encode``/``decode``/``itos``), ``classes``.
    """
    if num_words is not None and num_words < 3:
        raise ValueError(f"num_words={num_words} must be at least 3 (padding, unknown, a word).")
    if maxlen < 1:
        raise ValueError(f"maxlen={maxlen} must be at least 1.")
    root = resolve_root(root)
    tok = _tokenized(ensure(SPEC, root, download), root / CACHE)
    vocab = Vocab(tok.itos if num_words is None else tok.itos[:num_words])

    def split(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        ids = np.where(tok.ids[name] < len(vocab), tok.ids[name], UNK_ID)
        x = pad_sequences(ids, tok.lengths[name], maxlen)
        return torch.from_numpy(x), torch.from_numpy(tok.labels[name].astype(np.int64))

    x_train, y_train = split("train")
    x_test, y_test = split("test")
    return TextData(x_train, y_train, x_test, y_test, vocab, ["negative", "positive"], maxlen)


def load_imdb_texts(
    split: str = "train",
    n: int | None = None,
    root: Path | str | None = None,
    download: bool = True,
) -> tuple[list[str], np.ndarray]:
    """The raw text of the first ``n`` reviews (all when None) of ``split``, as written
    (``<br />`` included), and their labels (int64, 0 negative, 1 positive).

    Rows are in :func:`load_imdb`'s order: row ``i`` here is row ``i`` of its ``x_train`` or
    ``x_test``. The data folder is found or downloaded as :func:`load_imdb` does.
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} must be one of {SPLITS}.")
    if n is not None and n < 0:
        raise ValueError(f"n={n} must be at least 0.")
    files, labels = _review_files(ensure(SPEC, resolve_root(root), download), split)
    order = np.random.RandomState(SHUFFLE_SEED).permutation(len(files))[:n]
    return [_read_text(files[i]) for i in order], labels[order].astype(np.int64)
