"""In-memory datasets as returned by the loaders: tensors or arrays, split into train and test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlcourse.data.text import Vocab, pad_sequences


def _shape(x: torch.Tensor | np.ndarray) -> str:
    return "x".join(str(n) for n in x.shape)


def _keras_images(x: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] tensor -> Keras layout: [N, H, W] for one channel, [N, H, W, C] otherwise."""
    array = x.numpy()
    return array[:, 0] if array.shape[1] == 1 else np.ascontiguousarray(array.transpose(0, 2, 3, 1))


@dataclass(repr=False)
class ImageData:
    """Labelled images: ``x_*`` uint8 [N, C, H, W] (channels first), ``y_*`` int64 [N]."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]

    def numpy_splits(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``((x_train, y_train), (x_test, y_test))`` as NumPy arrays in Keras's layout.

        Images are uint8 [N, H, W] for one channel (Fashion-MNIST) and [N, H, W, C] otherwise
        (CIFAR-10); labels are int64 [N]. The arrays may share memory with the tensors.
        """
        return (
            (_keras_images(self.x_train), self.y_train.numpy()),
            (_keras_images(self.x_test), self.y_test.numpy()),
        )

    def __repr__(self) -> str:
        return (
            f"ImageData(x_train {_shape(self.x_train)}, x_test {_shape(self.x_test)}, "
            f"{len(self.classes)} classes: {', '.join(self.classes)})"
        )


@dataclass(repr=False)
class TextData:
    """Token ids: ``x_*`` int64 [N, maxlen] (padded with ``vocab.pad_id`` at the start),
    ``y_*`` int64 [N] (index into ``classes``), and the vocabulary that maps ids to words."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    vocab: Vocab
    classes: list[str]
    maxlen: int

    def encode(self, texts: list[str]) -> torch.Tensor:
        """New texts as int64 [len(texts), maxlen], tokenized and padded like ``x_train``."""
        seqs = [self.vocab.encode(text) for text in texts]
        flat = np.fromiter((i for seq in seqs for i in seq), dtype=np.int64)
        lengths = np.array([len(seq) for seq in seqs], dtype=np.int64)
        return torch.from_numpy(pad_sequences(flat, lengths, self.maxlen))

    def __repr__(self) -> str:
        return (
            f"TextData(x_train {_shape(self.x_train)}, x_test {_shape(self.x_test)}, "
            f"vocabulary of {len(self.vocab)}, classes: {', '.join(self.classes)})"
        )


@dataclass(repr=False)
class SegmentationData:
    """Images with per-pixel masks, both uint8 [N, 1, H, W].

    In ``masks``, ``CELL`` (1) marks cell interior and ``MEMBRANE`` (0) marks cell membrane.
    """

    images: torch.Tensor
    masks: torch.Tensor

    MEMBRANE = 0
    CELL = 1

    def __repr__(self) -> str:
        return f"SegmentationData(images {_shape(self.images)}, masks 1 = cell, 0 = membrane)"


@dataclass(repr=False)
class TabularData:
    """A table split for regression: ``x_*`` float32 [N, F], ``y_*`` float32 [N]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    target_name: str

    def numpy_splits(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``((x_train, y_train), (x_test, y_test))``, as ``keras.datasets.boston_housing``."""
        return (self.x_train, self.y_train), (self.x_test, self.y_test)

    def __repr__(self) -> str:
        return (
            f"TabularData(x_train {_shape(self.x_train)}, x_test {_shape(self.x_test)}, "
            f"target {self.target_name}, features: {', '.join(self.feature_names)})"
        )
