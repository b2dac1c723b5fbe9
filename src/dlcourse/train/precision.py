"""Mixed precision: ``torch.autocast`` on CUDA (bfloat16, else float16 with a grad scaler)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from dlcourse.autocast import bf16_supported


@dataclass
class Precision:
    """How a run computes: the autocast dtype (None: float32) and the gradient scaler."""

    device_type: str
    dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None

    @property
    def name(self) -> str:
        """``"float32"``, ``"bfloat16"`` or ``"float16"``, as recorded in the history."""
        return "float32" if self.dtype is None else str(self.dtype).removeprefix("torch.")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Forward passes (and the loss) run under this context."""
        if self.dtype is None:
            yield
        else:
            with torch.autocast(self.device_type, dtype=self.dtype):
                yield


def choose_precision(amp: bool, device: torch.device, verbose: bool = True) -> Precision:
    """Mixed precision on CUDA when ``amp``; float32 otherwise (with a one-line notice)."""
    if not amp:
        return Precision(device.type)
    if device.type != "cuda":
        if verbose:
            print(f"amp=True has no effect on {device.type}: training in float32.")
        return Precision(device.type)
    if bf16_supported(device):  # native bfloat16 (compute capability >= 8.0)
        return Precision("cuda", torch.bfloat16)
    return Precision("cuda", torch.float16, torch.amp.GradScaler("cuda"))
