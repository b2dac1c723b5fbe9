"""Fashion-MNIST MLP, 5 epochs, batch 32, Adam: dlcourse's in-memory engine against DataLoaders.

Run by hand on a quiet machine:  python benchmarks/bench_engine.py [--epochs 5] [--repeats 2]
Prints seconds of training (best and median of the repeats) and each variant's test accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision import datasets, transforms

from dlcourse.config import data_dir, seed_everything
from dlcourse.data import load_fashion_mnist
from dlcourse.train import TensorBatches, evaluate, fit


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def train_with_loader(model: nn.Module, loader: DataLoader, epochs: int) -> None:
    """The textbook loop over a DataLoader."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    data = load_fashion_mnist()
    x_train, x_test = data.x_train.float() / 255, data.x_test.float() / 255
    y_train, y_test = data.y_train, data.y_test
    root = data_dir()

    def torchvision_loader() -> DataLoader:
        to_tensor = transforms.ToTensor()
        ds = datasets.FashionMNIST(root, train=True, download=False, transform=to_tensor)
        return DataLoader(ds, batch_size=32, shuffle=True)

    def engine(model: nn.Module) -> None:
        batches = TensorBatches(x_train, y_train, batch_size=32, shuffle=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        fit(
            model,
            batches,
            epochs=args.epochs,
            optimizer=optimizer,
            loss_fn=nn.CrossEntropyLoss(),
            metrics=["accuracy"],
            progress=False,
            verbose=False,
        )

    variants: dict[str, Callable[[nn.Module], None]] = {
        "DataLoader(torchvision FashionMNIST, ToTensor)": lambda m: train_with_loader(
            m, torchvision_loader(), args.epochs
        ),
        "DataLoader(TensorDataset in memory)": lambda m: train_with_loader(
            m, DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True), args.epochs
        ),
        "dlcourse.train.fit(TensorBatches)": engine,
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.epochs} epochs")
    times: dict[str, list[float]] = {name: [] for name in variants}
    accuracy: dict[str, float] = {}
    for _ in range(args.repeats):  # round-robin, so drifts of the machine hit every variant
        for name, train in variants.items():
            seed_everything(0)
            model = mlp()
            started = time.perf_counter()
            train(model)
            times[name].append(time.perf_counter() - started)
            accuracy[name] = evaluate(model, (x_test, y_test), metrics=["accuracy"])["accuracy"]
    print(f"{'variant':50s} {'best s':>7s} {'median s':>9s} {'test acc':>9s}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:50s} {min(seconds):7.1f} {median:9.1f} {accuracy[name]:9.4f}")


if __name__ == "__main__":
    main()
