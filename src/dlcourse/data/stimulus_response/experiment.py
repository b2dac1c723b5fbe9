"""A whole simulated experiment: one set of ROIs, many recordings, written as CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlcourse.atomic import atomic_file
from dlcourse.config import data_dir
from dlcourse.data.lock import file_lock
from dlcourse.data.stimulus_response.files import CROP, Recording, load_recordings, write_recording
from dlcourse.data.stimulus_response.simulate import make_rois, make_stimulus, simulate_recording

VERSION = 1
N_ROWS = 2000
# (stimulus kind, sin² period in rows or None, number of recordings)
PLAN: tuple[tuple[str, int | None, int], ...] = (
    ("sin2", 40, 3),
    ("sin2", 70, 3),
    ("sin2", 160, 3),
    ("sin2", 250, 3),
    ("pulses", None, 8),
    ("noise", None, 10),
    ("sin2", 110, 3),  # a period that training never sees: the notebooks hold it out
)
UNSEEN_KIND = "sin2-p110"


def recording_names(plan: tuple[tuple[str, int | None, int], ...] = PLAN) -> list[str]:
    """File stems in plan order: ``sin2-p040_01``, ..., ``pulses_01``, ..., ``noise_10``."""
    names = []
    for kind, period, count in plan:
        prefix = f"{kind}-p{period:03d}" if period is not None else kind
        names += [f"{prefix}_{i:02d}" for i in range(1, count + 1)]
    return names


def simulate_tables(
    seed: int = 0,
    n_rows: int = N_ROWS,
    n_rois: int = 10,
    plan: tuple[tuple[str, int | None, int], ...] = PLAN,
) -> dict[str, np.ndarray]:
    """Every recording of the experiment as ``{name: [n_rows, 1 + n_rois] table}``.

    The same ``seed`` gives the same ROIs and the same recordings, bit for bit."""
    rois = make_rois(n_rois, seed)
    tables = {}
    names = iter(recording_names(plan))
    index = 0
    for kind, period, count in plan:
        for _ in range(count):
            rng = np.random.default_rng([seed, 2, index])
            stimulus = make_stimulus(kind, n_rows, rng, period)
            tables[next(names)] = simulate_recording(stimulus, rois, rng)
            index += 1
    return tables


def simulate_experiment(
    folder: str | Path,
    seed: int = 0,
    n_rows: int = N_ROWS,
    n_rois: int = 10,
    plan: tuple[tuple[str, int | None, int], ...] = PLAN,
) -> list[Path]:
    """Write the experiment's recordings to ``folder`` as ``<name>.csv``; returns the paths."""
    folder = Path(folder)
    tables = simulate_tables(seed, n_rows, n_rois, plan)
    return [write_recording(folder / f"{name}.csv", table) for name, table in tables.items()]


def simulated_folder(seed: int = 0, root: str | Path | None = None) -> Path:
    """The simulated experiment's folder, written on first use:
    ``<data directory>/stimulus_response/seed<seed>/``."""
    folder = Path(root).expanduser() if root is not None else data_dir()
    folder = folder / "stimulus_response" / f"seed{seed}"
    manifest = folder / "simulation.json"
    wanted = {"version": VERSION, "seed": seed, "n_rows": N_ROWS, "plan": [list(p) for p in PLAN]}
    with file_lock(folder.parent / f".seed{seed}.lock"):  # one process simulates, others wait
        try:
            current = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if current != wanted:
            for stale in folder.glob("*.csv"):
                stale.unlink()
            simulate_experiment(folder, seed)
            with atomic_file(manifest) as tmp:
                tmp.write_text(json.dumps(wanted, indent=1), encoding="utf-8")
    return folder


def load_simulated(
    seed: int = 0, root: str | Path | None = None, crop: tuple[int, int] | None = CROP
) -> list[Recording]:
    """The simulated recordings (simulated and written on first use), cropped as on reading."""
    return load_recordings(simulated_folder(seed, root), crop=crop)
