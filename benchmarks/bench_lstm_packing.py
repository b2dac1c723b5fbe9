"""Training time of an LSTM on IMDB with and without packed sequences (run by hand).

    python benchmarks/bench_lstm_packing.py

Training steps (forward, backward, Adam) over 2,048 reviews of the Keras view (10,000
words, last 256 tokens), for each batch size, one CPU thread, the LSTM of the text notebooks
(embedding 64, hidden 64); the figure is scaled to minutes per epoch of 20,000 reviews.
"packed" runs ``LSTMClassifier(packed=True)`` (``pack_padded_sequence``); "padded" runs
``LSTMClassifier(packed=False)``: the padding moved to the end and the whole padded batch fed to
``nn.LSTM``, which on a CPU runs oneDNN's fused kernel. Both take the max and the mean of the
outputs over the real tokens, and give the same outputs (``tests/test_text_models.py``). On a
CPU the backward pass
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
        for name, packed in (("packed", True), ("padded", False)):
            torch.manual_seed(0)
            model = LSTMClassifier(10_000, dim=64, hidden=64, packed=packed)
            row.append(f"{name} {minutes_per_epoch(model, x, y, batch):5.2f}")
        print(f"batch {batch:4d}: " + "   ".join(row), flush=True)


if __name__ == "__main__":
    main()
