"""Recurrent sequence-to-sequence models: one output vector per time step."""

from __future__ import annotations

import torch
from torch import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class SequenceRNN(nn.Module):
    """A stack of LSTM or GRU layers and a linear read-out at every step.

    ``[N, T, inputs]`` → ``[N, T, outputs]``. The recurrence is causal: the output at step
    ``t`` depends only on inputs up to ``t``, like a response on the stimulus so far.
    """

    def __init__(
        self,
        cell: str = "lstm",
        inputs: int = 1,
        outputs: int = 10,
        hidden: int = 48,
        layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        dropout = dropout if layers > 1 else 0.0
        self.rnn = CELLS[cell](inputs, hidden, layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
