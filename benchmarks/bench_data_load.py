"""First and cached load time of each dataset into memory (run by hand).

    python benchmarks/bench_data_load.py

Uses the datasets in the data directory (``DLCOURSE_DATA``; provision them first). "first" is
the first load in this process; for IMDB it includes tokenizing the 50,000 reviews, with the
token cache written to a temporary folder so the data directory's cache is left alone.
"cached" is the second load (IMDB from its token cache). The operating system's file cache may
already hold the files, so "first" is not a cold-disk figure. Target: cached IMDB (maxlen 256)
and CIFAR-10 under 3 s each.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dlcourse.config import data_dir
from dlcourse.data import (
    DATASETS,
    load_boston_housing,
    load_cat_vs_dog,
    load_cifar10,
    load_fashion_mnist,
    load_imdb,
    load_isbi2012,
)


def seconds(load: Callable[[], object]) -> float:
    start = time.perf_counter()
    load()
    return time.perf_counter() - start


def main() -> None:
    root = data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        imdb_root = Path(tmp)
        if DATASETS["imdb"].locate(root):
            (imdb_root / "aclImdb").symlink_to(root / "aclImdb")
        cases = [
            ("fashion_mnist", "fashion_mnist", lambda: load_fashion_mnist(root)),
            ("cifar10", "cifar10", lambda: load_cifar10(root=root)),
            ("cat_vs_dog", "cifar10", lambda: load_cat_vs_dog(root=root)),
            ("imdb (10000 words, maxlen 256)", "imdb", lambda: load_imdb(root=imdb_root)),
            ("isbi2012", "isbi2012", lambda: load_isbi2012(root)),
            ("boston_housing", "boston_housing", lambda: load_boston_housing(root)),
        ]
        print(f"data directory: {root}\n")
        print(f"{'dataset':32} {'first (s)':>10} {'cached (s)':>11}")
        for label, name, load in cases:
            if DATASETS[name].locate(root) is None:
                print(f"{label:32} {'missing':>10}")
                continue
            first, cached = seconds(load), seconds(load)
            print(f"{label:32} {first:10.2f} {cached:11.2f}")


if __name__ == "__main__":
    main()
