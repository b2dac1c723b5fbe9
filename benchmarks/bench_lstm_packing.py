"""Training time of an LSTM on IMDB with and without packed sequences (run by hand).

    python benchmarks/bench_lstm_packing.py

Training steps (forward, backward, Adam) over 2,048 reviews of the Keras view (10,000
words, last 256 tokens), for each batch size, one CPU thread, the LSTM of the text notebooks
(embedding 64, hidden 64); the figure is scaled to minutes per epoch of 20,000 reviews.
"packed" runs ``LSTMClassifier`` (``pack_padded_sequence``, max and mean of the outputs over
the real tokens); "padded" feeds the padded ids straight to ``nn.LSTM``, which on a CPU runs
oneDNN's fused kernel, and pools over all 256 positions. On a CPU the backward pass
of a packed LSTM slices its inputs once per time step and each slice's gradient is a zero tensor
as large as the whole batch, so its cost per review grows with the batch size.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from dlcourse.data import load_imdb
from dlcourse.text_models import LSTMClassifier

REVIEWS, EPOCH = 2048, 20_000


class PaddedLSTM(LSTMClassifier):
    """The same layers, fed the padded ids (padding in front) without packing."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(self.embedding(x))
        return torch.cat([outputs.amax(dim=1), outputs.mean(dim=1)], dim=1)


def minutes_per_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        loss = loss_fn(model(x[i : i + batch]), y[i : i + batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) * EPOCH / len(x) / 60


def main() -> None:
    torch.set_num_threads(1)
    data = load_imdb(num_words=10_000, maxlen=256)
    x, y = data.x_train[:REVIEWS], data.y_train[:REVIEWS].float()
    print(f"torch {torch.__version__}, 1 thread; minutes per epoch of {EPOCH:,} reviews")
    for batch in (32, 128, 512):
        row = []
        for name, cls in (("packed", LSTMClassifier), ("padded", PaddedLSTM)):
            torch.manual_seed(0)
            model = cls(10_000, dim=64, hidden=64)
            row.append(f"{name} {minutes_per_epoch(model, x, y, batch):5.2f}")
        print(f"batch {batch:4d}: " + "   ".join(row), flush=True)


if __name__ == "__main__":
    main()
