"""Saving and loading: atomic writes, ``weights_only=True`` loads, metadata kept with weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlcourse.atomic import atomic_file


def atomic_save(obj: object, path: str | Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename: never a half-file."""
    path = Path(path)
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)
    return path


def safe_load(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code), with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: train the model first or fix the path")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for bad files
        raise ValueError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {err}); "
            "delete it and train again"
        ) from None


def save_model(path: str | Path, model: nn.Module, **metadata: Any) -> Path:
    """Save a model's weights with metadata (plain data: numbers, strings, lists, dicts)."""
    return atomic_save({"state_dict": model.state_dict(), "metadata": metadata}, path)


def load_model(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load weights saved by :func:`save_model` into ``model``; returns the metadata."""
    checkpoint = safe_load(path)
    if "state_dict" not in checkpoint:
        raise ValueError(f"{path} was not written by save_model (no 'state_dict' entry)")
    model.load_state_dict(checkpoint["state_dict"])
    return dict(checkpoint.get("metadata", {}))
