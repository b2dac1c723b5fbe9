"""Text classifiers for the IMDB notebooks and the sentiment service.

Every model takes token ids ``[N, L]`` padded with ``PAD_ID`` (0) **at the start**, as
:func:`dlcourse.data.load_imdb` returns them, and returns one logit per review, shape ``[N]``
(positive when the review looks positive): train them with ``nn.BCEWithLogitsLoss``.

Their embeddings start as Keras's do, in U(±0.05), not at PyTorch's N(0, 1): a word seen in few
training reviews barely moves from its start, and a large random start vector then adds noise to
every review it appears in (notebook ``08_NLP_Text/02`` measures the difference).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlcourse.data.text import PAD_ID
from dlcourse.keras_defaults import keras_embedding_init_


def token_counts(x: torch.Tensor) -> torch.Tensor:
    """Real (non-padding) tokens per row of ``x`` (token ids [N, L]), int64 [N]."""
    return (x != PAD_ID).sum(dim=1)


def left_align(x: torch.Tensor) -> torch.Tensor:
    """Rows padded at the start -> the same tokens, in order, padded at the end.

    ``pack_padded_sequence`` expects the real tokens first; ``load_imdb`` pads before them.
    """
    length = x.shape[1]
    shift = length - token_counts(x)
    index = (torch.arange(length, device=x.device)[None, :] + shift[:, None]) % length
    return x.gather(1, index)


def masked_mean(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``vectors`` [N, L, D] over the positions where ``mask`` [N, L] is true.

    Padding does not dilute the average; a row without any real token gives zeros.
    """
    weights = mask.to(vectors.dtype).unsqueeze(-1)
    total = (vectors * weights).sum(dim=1)
    return total / weights.sum(dim=1).clamp(min=1.0)


class AvgPoolClassifier(nn.Module):
    """Keras's text-classification model: Embedding -> average -> Dense(relu) -> Dense(1).

    With ``num_words=10000, dim=16, hidden=16`` it has Keras's 160,289 parameters.
    ``masked=True`` averages over real tokens only; ``False`` averages over all ``L``
    positions, padding included, as ``GlobalAveragePooling1D`` does without a mask.
    """

    def __init__(self, num_words: int, dim: int = 16, hidden: int = 16, masked: bool = True):
        super().__init__()
        self.masked = masked
        self.embedding = keras_embedding_init_(nn.Embedding(num_words, dim))
        self.head = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vectors = self.embedding(x)
        pooled = masked_mean(vectors, x != PAD_ID) if self.masked else vectors.mean(dim=1)
        return self.head(pooled).squeeze(-1)


class LSTMClassifier(nn.Module):
    """Embedding -> LSTM over the real tokens only -> max and mean -> Linear.

    The review is summarised by the maximum and the mean of the LSTM's outputs over its real
    tokens (both directions' outputs when ``bidirectional``): every word reaches the output
    layer in one step, where the final hidden state alone would pass it through all later steps.

    ``packed=True`` runs the LSTM on ``pack_padded_sequence``. ``packed=False`` moves the padding
    to the end and runs the LSTM on the whole padded batch: a forward LSTM reads each review's
    tokens before any padding, so its outputs at the real tokens, and hence the masked max and
    mean, are the packed ones (up to rounding), and on a CPU it runs oneDNN's fused kernel,
    several times faster. A backward direction would read the padding first: a bidirectional
    LSTM needs ``packed=True``.
    """

    def __init__(
        self,
        num_words: int,
        dim: int = 64,
        hidden: int = 64,
        bidirectional: bool = False,
        dropout: float = 0.3,
        packed: bool = True,
    ):
        super().__init__()
        if bidirectional and not packed:
            raise ValueError(
                "a bidirectional LSTM needs packed=True: its backward direction would read "
                "the padding before the review"
            )
        self.packed = packed
        self.embedding = keras_embedding_init_(nn.Embedding(num_words, dim, padding_idx=PAD_ID))
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden * (2 if bidirectional else 1), 1)

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The LSTM's outputs [N, T, H * directions], real tokens first, and the mask of the
        real tokens [N, T] (an empty review counts as one padding token)."""
        lengths = token_counts(x).clamp(min=1)
        vectors = self.embedding(left_align(x))
        if self.packed:
            packed = pack_padded_sequence(
                vectors, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            outputs, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True)
        else:
            outputs, _ = self.lstm(vectors)
        real = torch.arange(outputs.shape[1], device=x.device)[None, :] < lengths[:, None]
        return outputs, real

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The review vectors [N, 2 * hidden * directions] (max, then mean) fed to the output."""
        outputs, real = self.outputs(x)
        largest = outputs.masked_fill(~real.unsqueeze(-1), float("-inf")).amax(dim=1)
        return torch.cat([largest, masked_mean(outputs, real)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.encode(x))).squeeze(-1)


class ConvClassifier(nn.Module):
    """Embedding -> 1-D convolution (ReLU) -> max over positions -> Linear."""

    def __init__(
        self,
        num_words: int,
        dim: int = 64,
        channels: int = 128,
        kernel_size: int = 5,
        dropout: float = 0.5,
    ):
        super().__init__()
        self.embedding = keras_embedding_init_(nn.Embedding(num_words, dim, padding_idx=PAD_ID))
        self.conv = nn.Conv1d(dim, channels, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(self.embedding(x).transpose(1, 2)))  # [N, C, L]
        return self.out(self.dropout(features.amax(dim=2))).squeeze(-1)


def bigram_ids(x: torch.Tensor, num_words: int, buckets: int) -> torch.Tensor:
    """Hashed ids of neighbouring word pairs, in ``[num_words, num_words + buckets)``.

    Row ``i`` of the result holds one id per pair ``(x[i, j], x[i, j + 1])``; pairs that touch
    padding get ``PAD_ID``. Different pairs may share a bucket (fastText's hashing trick).
    """
    first, second = x[:, :-1], x[:, 1:]
    hashed = (first * num_words + second) % buckets + num_words
    return torch.where((first != PAD_ID) & (second != PAD_ID), hashed, PAD_ID)


class FastText(nn.Module):
    """fastText (Joulin et al., 2017): the average of word and word-bigram vectors -> Linear.

    ``nn.EmbeddingBag`` averages each review's vectors in one step; ``padding_idx`` keeps
    padding out of the average.
    """

    def __init__(self, num_words: int, dim: int = 32, buckets: int = 500_000):
        super().__init__()
        self.num_words, self.buckets = num_words, buckets
        self.bag = keras_embedding_init_(
            nn.EmbeddingBag(num_words + buckets, dim, mode="mean", padding_idx=PAD_ID)
        )
        self.out = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = torch.cat([x, bigram_ids(x, self.num_words, self.buckets)], dim=1)
        return self.out(self.bag(ids)).squeeze(-1)


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "avgpool": AvgPoolClassifier,
    "lstm": LSTMClassifier,
    "conv": ConvClassifier,
    "fasttext": FastText,
}


def build(architecture: str, **config: Any) -> nn.Module:
    """A model from its architecture name and constructor arguments (as saved with it)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[architecture](**config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
