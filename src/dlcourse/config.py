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

from dlcourse import threads

T = TypeVar("T")

QUICK_ENV = "DLCOURSE_QUICK"
DATA_ENV = "DLCOURSE_DATA"
DEVICE_ENV = "DLCOURSE_DEVICE"
PROGRESS_ENV = "DLCOURSE_PROGRESS"
RECORD_ENV = "DLCOURSE_RECORD_FILE"
DEFAULT_SEED = 42

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(ValueError):
    """An environment setting (``DLCOURSE_*``) has a value the course cannot use."""


def is_quick() -> bool:
    """True when ``DLCOURSE_QUICK`` asks for a smoke run (small subsets, 1-2 epochs).

    ``1``, ``true``, ``yes``, ``on`` mean quick; ``0``, ``false``, ``no``, ``off``, empty or
    unset mean full (any case). Anything else raises :class:`SettingError`.
    """
    raw = os.environ.get(QUICK_ENV, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingError(
        f"{QUICK_ENV}={raw!r} is neither on nor off: use 1, true, yes or on for quick mode, "
        "0, false, no or off (or leave it unset) for full mode."
    )


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


def data_root() -> Path:
    """The data directory as an absolute path, without creating it.

    ``DLCOURSE_DATA`` when set, else ``~/.cache/dlcourse``. A relative ``DLCOURSE_DATA`` is
    resolved against the current folder the first time it is read and written back to the
    environment as an absolute path, so that later reads, notebook kernels and other child
    processes (which may start elsewhere) all use the same folder. Raises
    :class:`SettingError` when the path exists but is not a folder.
    """
    raw = os.environ.get(DATA_ENV, "").strip()
    if raw:
        path = Path(os.path.abspath(Path(raw).expanduser()))
        if str(path) != raw:
            os.environ[DATA_ENV] = str(path)
        origin = f"{DATA_ENV}={raw!r} names {path}, which"
    else:
        path = Path.home() / ".cache" / "dlcourse"
        origin = f"The default data directory {path}"
    if path.exists() and not path.is_dir():
        raise SettingError(
            f"{origin} is a file, not a folder. Set {DATA_ENV} to a folder (it is created "
            "when missing)."
        )
    return path


def data_dir() -> Path:
    """The data directory (see :func:`data_root`), created if missing.

    Raises :class:`SettingError` naming ``DLCOURSE_DATA`` when it is a file or cannot be
    created.
    """
    path = data_root()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SettingError(
            f"The data directory {path} cannot be created ({err.strerror or err}). Set "
            f"{DATA_ENV} to a folder you can write to."
        ) from None
    return path


def checkpoint_file(name: str, quick: bool | None = None) -> Path:
    """Where a notebook saves a model that later notebooks load:
    ``<data dir>/checkpoints/<name>.pt``, or ``<name>.quick.pt`` in quick mode (``quick=None``
    follows ``DLCOURSE_QUICK``), so that a smoke run never replaces the real model."""
    quick = is_quick() if quick is None else quick
    return data_dir() / "checkpoints" / f"{name}{'.quick' if quick else ''}.pt"


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
        f"mode {mode} | seed {seed} | data {data_dir()}\nCPU: {threads.describe()}"
    )
    return device
