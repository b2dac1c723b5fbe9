"""Run the Keras original of 01_Basics/01 (the sine) in Keras itself and keep its curves.

The notebook reproduces this run in PyTorch. Its first epochs depend on the random start
(x reaches 999.9 unscaled), so the notebook compares its own curve with Keras's over several
seeds, read from the JSON file this script writes:

    KERAS_BACKEND=torch OMP_NUM_THREADS=1 python benchmarks/keras_sine_original.py \
        --seeds 0 1 2 --out src/dlcourse/keras_runs/sine_original.json

Keras 3 runs on its PyTorch backend here; the optimizer, initialiser and ``validation_split``
code it runs are the same on every backend.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from dlcourse.atomic import atomic_file  # noqa: E402


def original_run(seed: int, epochs: int) -> dict[str, list[float]]:
    """The original's data, network and ``fit`` call; returns Keras's history."""
    keras.utils.set_random_seed(seed)
    x = np.arange(10_000, dtype="float32") / 10
    y = (np.sin(x) + 1) / 2
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.1, verbose=0)
    return {k: [float(v) for v in history.history[k]] for k in ("loss", "val_loss")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs = {}
    for seed in args.seeds:
        started = time.perf_counter()
        runs[str(seed)] = original_run(seed, args.epochs)
        seconds = time.perf_counter() - started
        first, last = runs[str(seed)]["loss"][0], runs[str(seed)]["loss"][-1]
        print(f"seed {seed}: loss {first:.4f} after epoch 1, {last:.4f} after {args.epochs}")
        print(f"  ({seconds:.0f} s)", flush=True)
    record = {
        "what": "the Keras original of 01_Basics/01, fit(x, y, batch_size=16, epochs, "
        "validation_split=0.1) with Adam(1e-3) and loss='mse'",
        "command": "python benchmarks/keras_sine_original.py --seeds "
        + " ".join(map(str, args.seeds))
        + f" --epochs {args.epochs}",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "machine": platform.machine(),
        "runs": runs,
    }
    with atomic_file(args.out) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
