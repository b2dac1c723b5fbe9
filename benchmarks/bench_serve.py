"""The sentiment service on loopback: latency of one review, and throughput with 8 clients.

Run by hand on a quiet machine:  python benchmarks/bench_serve.py [--model DIR] [--requests 1000]
Without ``--model`` it serves the Keras average-pooling model (160,289 parameters, untrained:
speed does not depend on the weights) with the IMDB vocabulary. For each backend (torch,
onnx) it starts ``dlcourse serve`` on 127.0.0.1 and prints p50 / p99 latency of one request
holding one review of median length, and requests per second from 8 concurrent clients.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from dlcourse.config import seed_everything
from dlcourse.data import load_imdb
from dlcourse.serve import export_onnx, load_model_folder, save_model_folder
from dlcourse.serve.client import latency, running_server, throughput
from dlcourse.text_models import build


def untrained_folder(path: Path) -> str:
    """An avgpool model folder with the IMDB vocabulary; returns a median-length review."""
    data = load_imdb(num_words=10_000, maxlen=256)
    config = {"num_words": 10_000, "dim": 16, "hidden": 16, "masked": True}
    save_model_folder(
        path, build("avgpool", **config), data.vocab, architecture="avgpool",
        model_config=config, maxlen=256, classes=data.classes,
    )  # fmt: skip
    lengths = (data.x_test != 0).sum(dim=1)
    median = int(torch.argsort(lengths)[len(lengths) // 2])
    return data.vocab.decode(data.x_test[median])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model folder (default: untrained avgpool)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per measurement")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    seed_everything(0)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            args.model = Path(tmp) / "model"
            review = untrained_folder(args.model)
        else:
            review = "A slow start, but the acting is superb and the ending moved me. " * 8
        folder = load_model_folder(args.model)
        if not folder.onnx_path.exists():
            export_onnx(folder)
        print(f"model {args.model} ({folder.config['architecture']}), review of "
              f"{len(review.split())} words, {args.requests} requests per measurement")  # fmt: skip
        print("| backend | p50 ms | p99 ms | requests/s (8 clients) | errors |")
        print("| --- | --- | --- | --- | --- |")
        for backend in ("torch", "onnx"):
            with running_server(args.model, backend) as url:
                lat = latency(url, review, requests=args.requests)
                thr = throughput(url, review, clients=args.clients, requests=args.requests)
            print(f"| {backend} | {lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} | "
                  f"{thr['requests_per_second']:.0f} | {thr['errors']} |")  # fmt: skip


if __name__ == "__main__":
    main()
