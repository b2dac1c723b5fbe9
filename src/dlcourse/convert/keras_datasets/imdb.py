"""``keras.datasets.imdb``: reviews as lists of word indices, in Keras's encoding.

Index 0 is padding, ``start_char`` (1) starts every review, ``oov_char`` (2) stands for words
outside the ``num_words`` most frequent, and the word of frequency rank r (from 1) is
``r + index_from`` (from 4). The reviews are the course's copy of the Large Movie Review
Dataset, tokenized by :func:`dlcourse.data.tokenize`: ranks, hence indices, differ from Keras's
own preprocessed copy, but the layout, the labels and the shuffle (seed 113) are the same.
"""

from __future__ import annotations

import numpy as np

from dlcourse.data.imdb import CACHE, SPEC, _tokenized
from dlcourse.data.store import ensure, resolve_root

_FIRST_WORD = 2  # the course's id of the most frequent word (0 padding, 1 unknown)


def _tokens():  # noqa: ANN202 - the loader's private cache record
    root = resolve_root(None)
    return _tokenized(ensure(SPEC, root, True), root / CACHE)


def load_data(
    path: str = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
):
    """``(x_train, y_train), (x_test, y_test)``: object arrays of int lists, int64 labels."""
    tok = _tokens()
    result = []
    for split in ("train", "test"):
        ranks = tok.ids[split].astype(np.int64) - (_FIRST_WORD - 1)  # 1 = most frequent word
        words = ranks + index_from
        keep = (ranks >= 1) & (words >= skip_top)
        if num_words is not None:
            keep &= words < num_words
        if oov_char is not None:
            words = np.where(keep, words, oov_char)
        ends = np.cumsum(tok.lengths[split])
        reviews, labels = [], []
        for i, (end, length) in enumerate(zip(ends, tok.lengths[split], strict=True)):
            seq = words[end - length : end]
            if oov_char is None:
                seq = seq[keep[end - length : end]]
            seq = seq.tolist()
            if start_char is not None:
                seq = [start_char, *seq]
            if maxlen is not None and len(seq) > maxlen:
                continue
            reviews.append(seq)
            labels.append(int(tok.labels[split][i]))
        x = np.empty(len(reviews), dtype=object)
        x[:] = reviews
        result.append((x, np.array(labels, dtype=np.int64)))
    if seed != 113:
        for k, (x, y) in enumerate(result):
            order = np.random.RandomState(seed).permutation(len(x))
            result[k] = (x[order], y[order])
    return result[0], result[1]


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """Word -> frequency rank from 1, as Keras's (add ``index_from`` for the index in x)."""
    return {word: i - (_FIRST_WORD - 1) for i, word in enumerate(_tokens().itos) if i >= 2}
