"""A BERT encoder written out in PyTorch, for the pretrained all-MiniLM-L6-v2 weights.

Notebook ``08_NLP_Text/00_text_classification_welcome`` writes each of these in its cells and
teaches them; this module holds the same code (``tests/test_minilm.py`` keeps them equal) for
the tests and for later notebooks. The weights and the tokenizer come from
:func:`dlcourse.data.minilm_files`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention: softmax(q k^T / sqrt(d)) v.

    ``q`` [..., Lq, d], ``k`` and ``v`` [..., Lk, d]; ``mask`` (broadcast to [..., Lq, Lk]) is
    True where a query may look at a key. Returns the outputs [..., Lq, d] and the weights
    [..., Lq, Lk]; each row of weights sums to 1 and is 0 at masked keys.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    return weights @ v, weights


class MultiHeadSelfAttention(nn.Module):
    """Self-attention with ``heads`` heads of ``dim // heads`` numbers each.

    Every token makes a query, a key and a value; each head attends in its own slice of them;
    the heads' outputs are concatenated and mixed by ``out``. Padding is masked out as a key, so
    no real token looks at it. ``last_weights`` keeps the weights of the last call.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be a multiple of heads={heads}")
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` [N, L, dim], ``mask`` [N, L] True at real tokens -> [N, L, dim]."""
        n, length, dim = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:  # [N, L, dim] -> [N, heads, L, dim/heads]
            return t.view(n, length, self.heads, dim // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        out, self.last_weights = attention(q, k, v, mask[:, None, None, :])
        return self.out(out.transpose(1, 2).reshape(n, length, dim))


class Block(nn.Module):
    """A BERT encoder block, post-LayerNorm: x = norm1(x + attention(x));
    x = norm2(x + ff2(gelu(ff1(x)))). Dropout after each sub-layer while training."""

    def __init__(self, dim: int, heads: int, hidden: int, dropout: float = 0.1):
        super().__init__()
        self.attention = MultiHeadSelfAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim, eps=1e-12)
        self.ff1, self.ff2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-12)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.drop(self.attention(x, mask)))
        return self.norm2(x + self.drop(self.ff2(nn.functional.gelu(self.ff1(x)))))


class Embeddings(nn.Module):
    """Token vector + position vector + segment ("token type") vector, then LayerNorm."""

    def __init__(self, vocab: int, dim: int, max_len: int, dropout: float = 0.1):
        super().__init__()
        self.word = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(max_len, dim)
        self.token_type = nn.Embedding(2, dim)
        self.norm = nn.LayerNorm(dim, eps=1e-12)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids`` [N, L] -> [N, L, dim]; one segment (type 0), positions 0 ... L-1."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids))
        return self.drop(self.norm(x))


class Encoder(nn.Module):
    """Embeddings, then ``layers`` blocks: all-MiniLM-L6-v2's shape by default."""

    def __init__(
        self,
        vocab: int = 30522,
        dim: int = 384,
        layers: int = 6,
        heads: int = 12,
        hidden: int = 1536,
        max_len: int = 512,
    ):
        super().__init__()
        self.embeddings = Embeddings(vocab, dim, max_len)
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``ids`` [N, L], ``mask`` [N, L] True at real tokens -> token vectors [N, L, dim]."""
        x = self.embeddings(ids)
        for block in self.blocks:
            x = block(x, mask)
        return x


def mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors ``x`` [N, L, dim] over real tokens (``mask`` [N, L])."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


# Our name -> the checkpoint's (BERT's) name, applied in order.
RENAMES = [
    (r"^embeddings\.word\.", "embeddings.word_embeddings."),
    (r"^embeddings\.position\.", "embeddings.position_embeddings."),
    (r"^embeddings\.token_type\.", "embeddings.token_type_embeddings."),
    (r"^embeddings\.norm\.", "embeddings.LayerNorm."),
    (r"^blocks\.(\d+)\.attention\.(query|key|value)\.", r"encoder.layer.\1.attention.self.\2."),
    (r"^blocks\.(\d+)\.attention\.out\.", r"encoder.layer.\1.attention.output.dense."),
    (r"^blocks\.(\d+)\.norm1\.", r"encoder.layer.\1.attention.output.LayerNorm."),
    (r"^blocks\.(\d+)\.ff1\.", r"encoder.layer.\1.intermediate.dense."),
    (r"^blocks\.(\d+)\.ff2\.", r"encoder.layer.\1.output.dense."),
    (r"^blocks\.(\d+)\.norm2\.", r"encoder.layer.\1.output.LayerNorm."),
]
# Checkpoint tensors this encoder does not use: the [CLS] pooler (mean pooling replaces it)
# and the position ids 0 ... 511 (a constant).
UNUSED = ("pooler.dense.weight", "pooler.dense.bias", "embeddings.position_ids")


def checkpoint_name(name: str) -> str:
    """The checkpoint's name for our parameter ``name``."""
    for pattern, replacement in RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def load_strict(model: nn.Module, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Copy ``tensors`` (checkpoint names) into ``model``, checking every name and shape.

    Every parameter of the model must find a tensor of its shape, and every tensor must be
    used or listed in ``UNUSED``; otherwise a ``ValueError`` lists what is missing, misshapen or
    left over, and the model is not changed. Returns the checkpoint names loaded.
    """
    ours = {checkpoint_name(name): name for name in model.state_dict()}
    missing = sorted(set(ours) - set(tensors))
    unexpected = sorted(set(tensors) - set(ours) - set(UNUSED))
    misshapen = [
        f"{theirs}: checkpoint {tuple(tensors[theirs].shape)}, model {tuple(p.shape)}"
        for theirs, p in ((t, model.state_dict()[ours[t]]) for t in ours if t in tensors)
        if tensors[theirs].shape != p.shape
    ]
    if missing or unexpected or misshapen:
        raise ValueError(
            f"checkpoint does not fit the model: missing {missing}, unexpected {unexpected}, "
            f"misshapen {misshapen}"
        )
    model.load_state_dict({ours[t]: tensors[t] for t in ours}, strict=True)
    return sorted(ours)


def load_minilm(folder: Path) -> tuple[Encoder, Tokenizer]:
    """The encoder with the weights of ``folder/model.safetensors``, in eval mode, and the
    WordPiece tokenizer of ``folder/tokenizer.json``."""
    model = Encoder()
    load_strict(model, load_file(folder / "model.safetensors"))
    return model.eval(), Tokenizer.from_file(str(folder / "tokenizer.json"))


def encode(tokenizer: Tokenizer, texts: list[str], max_len: int) -> tuple[torch.Tensor, ...]:
    """Token ids [N, L] padded with ``[PAD]`` (0) at the end, and the mask [N, L] of real
    tokens. Each text keeps its first ``max_len`` tokens, ``[CLS]`` and ``[SEP]`` included;
    ``L`` is the longest of the batch. Sets the tokenizer's truncation and padding."""
    tokenizer.enable_truncation(max_len)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in batch], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in batch], dtype=torch.bool)
    return ids, mask
