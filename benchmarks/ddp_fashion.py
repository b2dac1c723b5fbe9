"""Train notebook 00's Fashion-MNIST CNN with ``fit`` on one or several processes.

One process:                 python benchmarks/ddp_fashion.py
N processes on one machine:  torchrun --nproc-per-node N benchmarks/ddp_fashion.py
Several machines:            see README ("Scale-out with torch.distributed").

Each process gets its own GPU when there are GPUs (backend nccl), else a share of the CPU
cores (backend gloo). ``--batch-size`` is per process: with N processes one optimizer step
sees N times as many images. Prints, on rank 0, images per second over the training epochs
and the test accuracy, and with ``--json FILE`` writes them to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch import nn

from dlcourse.config import seed_everything
from dlcourse.data import load_fashion_mnist
from dlcourse.train import TensorBatches, distributed, evaluate, fit


def cnn() -> nn.Module:
    """Notebook 00's CNN: two conv blocks, dropout, a 128-unit hidden layer."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Dropout(0.25), nn.Linear(128, 10),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--train-size", type=int, default=60_000)
    parser.add_argument("--json", help="write the figures to this file (rank 0)")
    args = parser.parse_args()

    world = distributed()
    if world.device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world.world_size))
    seed_everything(0)
    data = load_fashion_mnist()
    x = data.x_train[: args.train_size].float() / 255
    y = data.y_train[: args.train_size]
    model = cnn().to(world.device)
    batches = TensorBatches(x, y, batch_size=args.batch_size, shuffle=True, device=world.device)
    began = time.perf_counter()
    history = fit(
        model,
        batches,
        epochs=args.epochs,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        loss_fn=nn.CrossEntropyLoss(),
        metrics=["accuracy"],
        amp=world.device.type == "cuda",
        verbose=world.is_main,
    )
    seconds = time.perf_counter() - began
    if world.is_main:
        x_test = (data.x_test.float() / 255).to(world.device)
        test = evaluate(model, (x_test, data.y_test.to(world.device)), metrics=["accuracy"])
        figures = {
            "processes": world.world_size,
            "device": str(world.device),
            "precision": history.precision,
            "epochs": args.epochs,
            "seconds": round(seconds, 2),
            "images_per_second": round(args.epochs * len(x) / seconds, 1),
            "train_accuracy": round(history["train_accuracy"][-1], 4),
            "test_accuracy": round(test["accuracy"], 4),
        }
        print(json.dumps(figures))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(figures, fh)
    if world.active:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
