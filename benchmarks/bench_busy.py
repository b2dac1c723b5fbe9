"""Training steps on a busy machine: torch's OpenMP thread settings beside busy processes.

A learner's laptop is never idle. When another process holds a core, torch's OpenMP threads
(GNU libgomp in the PyPI wheels) spin while they wait for the thread that lost its core, and a
small training loop can become 10-30x slower. This benchmark times the training steps of
01_Basics/00 (the MLP, fed by slicing in-memory tensors or by a DataLoader, and the small CNN)
and one LSTM step, each in a fresh process started with a thread setting, alone and beside 1
or 2 busy processes (each a Python loop holding one core).

    python benchmarks/bench_busy.py                       # every setting, 0/1/2 busy, 3 repeats
    python benchmarks/bench_busy.py --busy 0 1 --repeats 1
    python benchmarks/bench_busy.py --runner              # the MLP loop through `dlcourse run`

The OpenMP runtime reads its settings when it starts, so each setting is an environment given
to a new process before torch is imported. Prints one table (median seconds per setting, load
and workload) and writes it as JSON with ``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlcourse.threads import (
    busy_processes,
    seconds_in_fresh_python,
    thread_settings,
    without_omp_settings,
)

SETTINGS: dict[str, dict[str, str]] = {
    "torch default": {},
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=100": {"GOMP_SPINCOUNT": "100"},
    "GOMP_SPINCOUNT=1000": {"GOMP_SPINCOUNT": "1000"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "GOMP_SPINCOUNT=100000": {"GOMP_SPINCOUNT": "100000"},
    "course: all cores but one": thread_settings(),
}
"""Each thread setting, as the environment of a fresh process (libgomp reads it at start)."""
WORKLOADS = ("mlp slicing", "mlp DataLoader", "cnn", "lstm")

_MLP_LOOP = """
import time, torch
from torch import nn
torch.manual_seed(0)
x = torch.rand(20_000, 784)
y = torch.randint(0, 10, (20_000,))
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
started = time.perf_counter()
order = torch.randperm(len(x))
for start in range(0, len(x), 32):  # 625 steps of 32, as 01/00 trains its MLP
    idx = order[start : start + 32]
    loss = loss_fn(model(x[idx]), y[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
seconds = time.perf_counter() - started
"""


def _worker(workload: str) -> float:
    """Seconds for one workload's timed loop, in this process."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    if workload == "mlp slicing":
        scope: dict = {}
        exec(_MLP_LOOP, scope)  # the same code the --runner notebook runs
        return scope["seconds"]
    if workload == "mlp DataLoader":
        x, y = torch.rand(20_000, 784), torch.randint(0, 10, (20_000,))
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        batches = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
        steps = None
    elif workload == "cnn":  # 01/00's SmallCNN, batch 64, 100 steps
        x, y = torch.rand(6_400, 1, 28, 28), torch.randint(0, 10, (6_400,))
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
            nn.Dropout(0.25), nn.Linear(128, 10),
        )  # fmt: skip
        batches = DataLoader(TensorDataset(x, y), batch_size=64)
        steps = 100
    else:  # an IMDB-sized LSTM step: batch 32, 200 tokens, 64 wide, 30 steps
        x, y = torch.randint(1, 10_000, (960, 200)), torch.randint(0, 2, (960,))

        class Lstm(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(10_000, 64)
                self.lstm = nn.LSTM(64, 64, batch_first=True)
                self.out = nn.Linear(64, 2)

            def forward(self, tokens: torch.Tensor) -> torch.Tensor:
                out, _ = self.lstm(self.embed(tokens))
                return self.out(out[:, -1])

        model = Lstm()
        batches = DataLoader(TensorDataset(x, y), batch_size=32)
        steps = 30
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for step, (xb, yb) in enumerate(batches):
        if steps is not None and step == steps:
            break
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def _run_worker(workload: str, setting: dict[str, str]) -> float:
    """One workload in a fresh process started with ``setting``."""
    code = f"import runpy\nbench = runpy.run_path({__file__!r})\n"
    code += f"seconds = bench['_worker']({workload!r})"
    return seconds_in_fresh_python(code, setting)


def _run_through_runner(setting: dict[str, str] | None) -> float:
    """The MLP slicing loop in a notebook executed by ``dlcourse run`` (its kernel's settings:
    the runner's defaults when ``setting`` is None, else ``setting`` forced)."""
    import nbformat

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "seconds.txt"
        code = _MLP_LOOP + f"\nopen({str(out)!r}, 'w').write(str(seconds))\n"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        path = Path(folder) / "busy_loop.ipynb"
        nbformat.write(nb, path)
        env = {**without_omp_settings(os.environ), **(setting or {})}
        command = [sys.executable, "-m", "dlcourse.cli", "run", str(path)]
        subprocess.run(
            [*command, "--out", str(Path(folder) / "out"), "--quick"],
            env=env,
            check=True,
            capture_output=True,
            timeout=900,
        )
        return float(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runner", action="store_true", help="time the loop via dlcourse run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {args.repeats} repeats (median)")
    rows = []
    for load in args.busy:
        with busy_processes(load):
            if args.runner:
                cases = [("dlcourse run (its defaults)", None), *SETTINGS.items()]
                for name, setting in cases:
                    if name != "dlcourse run (its defaults)" and name not in args.settings:
                        continue
                    if name == "dlcourse run (its defaults)":
                        times = [_run_through_runner(None) for _ in range(args.repeats)]
                    else:
                        times = [_run_worker("mlp slicing", setting) for _ in range(args.repeats)]
                    rows.append({"busy": load, "setting": name, "workload": "mlp slicing",
                                 "seconds": statistics.median(times), "all": times})  # fmt: skip
                    print(f"busy {load}  {name:28s} mlp slicing  {statistics.median(times):7.2f} s")
                continue
            for name in args.settings:
                for workload in args.workloads:
                    times = [_run_worker(workload, SETTINGS[name]) for _ in range(args.repeats)]
                    rows.append({"busy": load, "setting": name, "workload": workload,
                                 "seconds": statistics.median(times), "all": times})  # fmt: skip
                    print(
                        f"busy {load}  {name:28s} {workload:15s} {statistics.median(times):7.2f} s"
                    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
