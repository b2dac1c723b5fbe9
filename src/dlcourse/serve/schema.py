"""The schema of a model folder's ``config.json``: types and bounds, checked before anything is
built or allocated.

A folder comes from elsewhere: a wrong type (``"maxlen": "abc"``), a negative width or a huge
vocabulary must be refused with one clear line, not a traceback or a multi-gigabyte
allocation. The bounds are generous for the course's models (IMDB: 10,000 words, 256 tokens)
and keep one request's memory bounded: ``maxlen`` is at most :data:`MAX_MAXLEN` and the
predictor runs at most :data:`VALUES_PER_PASS` activations (tokens x width) per forward pass.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dlcourse.text_models import ARCHITECTURES

MAX_MAXLEN = 4096  # tokens per review; the course trains with 200 to 500
MAX_WORDS = 2_000_000  # vocabulary size and num_words
MAX_WIDTH = 2048  # embedding dimension, hidden units, channels
MAX_EMBEDDING_VALUES = 100_000_000  # rows x dim of the embedding table: 400 MB of float32
MAX_CONFIG_BYTES = 1_000_000
VALUES_PER_PASS = 2**25  # tokens x width per forward pass: 128 MB of float32 per activation

Words = Annotated[int, Field(strict=True, ge=2, le=MAX_WORDS)]
Width = Annotated[int, Field(strict=True, ge=1, le=MAX_WIDTH)]
Dropout = Annotated[float, Field(strict=True, ge=0.0, lt=1.0)]
Flag = Annotated[bool, Field(strict=True)]
ClassName = Annotated[str, Field(strict=True, min_length=1, max_length=100)]


class _Model(BaseModel):
    """Constructor arguments of one architecture (unknown keys refused)."""

    model_config = ConfigDict(extra="forbid")
    num_words: Words
    dim: Width

    def rows(self) -> int:
        """Rows of the embedding table."""
        return self.num_words

    def width(self) -> int:
        """The widest activation per token."""
        return self.dim


class AvgPool(_Model):
    hidden: Width
    masked: Flag

    def width(self) -> int:
        return max(self.dim, self.hidden)


class LSTM(_Model):
    hidden: Width
    bidirectional: Flag
    dropout: Dropout
    packed: Flag

    def width(self) -> int:
        return max(self.dim, 4 * self.hidden * (2 if self.bidirectional else 1))


class Conv(_Model):
    channels: Width
    kernel_size: Annotated[int, Field(strict=True, ge=1, le=31)]
    dropout: Dropout

    def width(self) -> int:
        return max(self.dim, self.channels)


class FastText(_Model):
    buckets: Annotated[int, Field(strict=True, ge=1, le=10_000_000)]

    def rows(self) -> int:
        return self.num_words + self.buckets

    def width(self) -> int:
        return 2 * self.dim  # words and bigrams


MODELS: dict[str, type[_Model]] = {
    "avgpool": AvgPool,
    "lstm": LSTM,
    "conv": Conv,
    "fasttext": FastText,
}


class FolderConfig(BaseModel):
    """``config.json``; other keys (test accuracy, notes) are kept as they are."""

    model_config = ConfigDict(extra="allow")
    format: Literal[1]
    architecture: Literal["avgpool", "lstm", "conv", "fasttext"]
    model: dict[str, Any]
    maxlen: Annotated[int, Field(strict=True, ge=1, le=MAX_MAXLEN)]
    classes: Annotated[list[ClassName], Field(min_length=2, max_length=2)]
    vocab_size: Words

    def checked_model(self) -> _Model:
        """The model's arguments with the constructor's defaults filled in, checked."""
        defaults = {
            name: p.default
            for name, p in inspect.signature(ARCHITECTURES[self.architecture]).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        return MODELS[self.architecture].model_validate({**defaults, **self.model})

    def rows_per_pass(self) -> int:
        """Reviews per forward pass so that one pass holds at most ``VALUES_PER_PASS``."""
        return max(1, VALUES_PER_PASS // (self.maxlen * self.checked_model().width()))


def one_line(err: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as one line: ``where: what (got value); ...``."""
    parts = []
    for e in err.errors():
        where = prefix + (".".join(str(p) for p in e.get("loc", ())) or "config")
        got = e.get("input")
        shown = repr(got)[:40] if isinstance(got, (str, int, float, bool, type(None))) else ""
        shown = f" (got {shown})" if shown and e.get("type") != "missing" else ""
        parts.append(f"{where}: {e.get('msg', 'invalid')}{shown}")
    return "; ".join(parts)


def check_config(config: Any) -> FolderConfig:
    """``config`` (parsed JSON) checked; raises ``ValueError`` with one line."""
    try:
        folder = FolderConfig.model_validate(config)
    except ValidationError as err:
        raise ValueError(one_line(err)) from None
    try:
        model = folder.checked_model()
    except ValidationError as err:
        raise ValueError(one_line(err, prefix="model.")) from None
    if folder.classes[0] == folder.classes[1]:
        raise ValueError(f"classes: the two classes must differ (got {folder.classes})")
    if model.num_words < folder.vocab_size:
        raise ValueError(
            f"model.num_words ({model.num_words}) is smaller than vocab_size "
            f"({folder.vocab_size}): word ids would fall outside the embedding"
        )
    if model.rows() * model.dim > MAX_EMBEDDING_VALUES:
        raise ValueError(
            f"the embedding table ({model.rows():,} x {model.dim}) is over "
            f"{MAX_EMBEDDING_VALUES:,} values"
        )
    return folder
