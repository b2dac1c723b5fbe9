"""Text to token ids: the tokenizer, the vocabulary, padding and multi-hot encoding."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-case, drop ``<br />`` split into words (``don't`` is one word) and punctuation."""
    return _TOKEN.findall(text.lower().replace("<br />", " "))


@dataclass(frozen=True, eq=False)
class Vocab:
    """Id <-> word. Id 0 is padding (``<pad>``), id 1 any word not in the vocabulary (``<unk>``);
    the others are words by decreasing frequency in the training split."""

    itos: list[str]
    pad_id = PAD_ID
    unk_id = UNK_ID

    @cached_property
    def stoi(self) -> dict[str, int]:
        """Word -> id."""
        return {word: i for i, word in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (unknown words -> ``unk_id``), without padding."""
        get = self.stoi.get
        return [get(token, UNK_ID) for token in tokenize(text)]

    def decode(self, ids: Iterable[int] | torch.Tensor | np.ndarray) -> str:
        """The tokens of ``ids`` joined by spaces, padding left out."""
        return " ".join(self.itos[i] for i in np.asarray(ids).tolist() if i != PAD_ID)


def pad_sequences(flat: np.ndarray, lengths: np.ndarray, maxlen: int) -> np.ndarray:
    """Rows of ``flat`` (concatenated sequences of ``lengths``) as int64 [N, maxlen].

    Like Keras's default: short sequences are padded with ``PAD_ID`` at the start, long ones keep
    their last ``maxlen`` tokens.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    keep = np.minimum(lengths, maxlen)
    starts = np.cumsum(lengths) - keep
    rows = np.repeat(np.arange(len(lengths)), keep)
    within = np.arange(int(keep.sum())) - np.repeat(np.cumsum(keep) - keep, keep)
    out = np.full((len(lengths), maxlen), PAD_ID, dtype=np.int64)
    out[rows, np.repeat(maxlen - keep, keep) + within] = flat[np.repeat(starts, keep) + within]
    return out


def multi_hot(x: torch.Tensor | np.ndarray, num_words: int) -> torch.Tensor:
    """float32 [N, num_words]: 1 where a row of ``x`` (token ids [N, L]) holds that id.

    Built directly in float32 with ``scatter_`` (25,000 x 10,000 takes 1 GB, not the 2 GB of a
    dense float64 array); the padding column stays 0.
    """
    ids = torch.as_tensor(x, dtype=torch.int64)
    if ids.ndim != 2:
        raise ValueError(f"multi_hot needs token ids of shape [N, L], got {tuple(ids.shape)}.")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_words):
        raise ValueError(
            f"token ids must lie in [0, {num_words}) but range from {int(ids.min())} to "
            f"{int(ids.max())}: load the data with num_words={num_words} or pass a larger "
            "num_words."
        )
    out = torch.zeros(ids.shape[0], num_words, dtype=torch.float32)
    out.scatter_(1, ids, 1.0)
    out[:, PAD_ID] = 0.0
    return out
