"""Course-wide settings read from the environment: mode, data directory, device, seed."""

from __future__ import annotations

import os
import platform
import random
import sys
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

QUICK_ENV = "DLCOURSE_QUICK"
DATA_ENV = "DLCOURSE_DATA"
DEVICE_ENV = "DLCOURSE_DEVICE"
PROGRESS_ENV = "DLCOURSE_PROGRESS"
RECORD_ENV = "DLCOURSE_RECORD_FILE"
DEFAULT_SEED = 42

_TRUE = {"1", "true", "yes", "on"}


def is_quick() -> bool:
    """True when ``DLCOURSE_QUICK`` asks for a smoke run (small subsets, 1-2 epochs)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE


def pick(quick: T, full: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise, e.g. ``epochs = pick(1, 20)``."""
    return quick if is_quick() else full


def show_progress() -> bool:
    """Whether long work shows tqdm progress bars.

    ``DLCOURSE_PROGRESS=0/1`` decides when set; otherwise bars are shown to a person (a
    terminal or a Jupyter kernel) and not in headless runs under ``dlcourse run``.
    """
    wanted = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if wanted:
        return wanted in _TRUE
    if os.environ.get(RECORD_ENV):
        return False
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def data_dir() -> Path:
    """The data directory: ``DLCOURSE_DATA`` or ``~/.cache/dlcourse``, created if missing."""
    raw = os.environ.get(DATA_ENV)
    path = Path(raw).expanduser() if raw else Path.home() / ".cache" / "dlcourse"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def get_device() -> torch.device:
    """CUDA, then Apple MPS, then CPU; ``DLCOURSE_DEVICE`` (e.g. ``cpu``, ``cuda:1``) overrides.

    Raises ``ValueError`` when the override names a device that is not available here.
    """
    wanted = os.environ.get(DEVICE_ENV, "").strip()
    if wanted:
        try:
            device = torch.device(wanted)
        except RuntimeError as err:
            raise ValueError(f"{DEVICE_ENV}={wanted!r} is not a device name: {err}") from None
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": _mps_available(),
        }.get(device.type, False)
        if not available:
            raise ValueError(
                f"{DEVICE_ENV}={wanted!r} asks for a device this machine does not have; "
                "unset it or use 'cpu'."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and PyTorch (all devices) so that runs repeat; returns the seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def setup(seed: int = DEFAULT_SEED) -> torch.device:
    """First cell of every notebook: seed, pick the device, print the environment."""
    seed_everything(seed)
    device = get_device()
    mode = "quick (smoke run)" if is_quick() else "full"
    print(
        f"Python {platform.python_version()} | torch {torch.__version__} | device {device} | "
        f"mode {mode} | seed {seed} | data {data_dir()}"
    )
    return device
