"""Mixed precision for a whole model: its forward pass under ``torch.autocast``.

On CUDA the training engine's ``amp=True`` does this. On a CPU with native bfloat16 support
(AVX512-BF16 or AMX, e.g. AMD Zen 4, Intel Sapphire Rapids) convolutions can run faster in
bfloat16 (measure it on your machine); :class:`Autocast` wraps a model so that ``fit``,
``evaluate`` and ``predict`` use it unchanged. The weights stay in float32. Activations do not:
under CPU autocast a convolution returns bfloat16, and batch norm given bfloat16 returns
bfloat16 too; only the outputs are cast back to float32 here.
"""

from __future__ import annotations

import torch
from torch import nn


def bf16_supported(device: torch.device | str) -> bool:
    """Whether ``device`` computes bfloat16 natively (fast), rather than emulating it (slow).

    On CUDA that is compute capability 8.0 (Ampere) or newer. ``torch.cuda.is_bf16_supported()``
    is no test for speed: by default (``including_emulation=True``) it is also True on older
    GPUs such as the T4 (7.5), where bfloat16 is emulated.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # a torch build without oneDNN
            return False
    return False


class Autocast(nn.Module):
    """Run ``model`` under ``torch.autocast(device.type, bfloat16)`` and return float32 outputs.

    With ``enabled=None`` it switches itself on only where bfloat16 is fast
    (:func:`bf16_supported`); otherwise it is a plain pass-through. With ``channels_last``
    the model and its 4-D inputs use that memory layout (faster convolutions on CPUs and
    GPUs). The wrapped model is ``.model``: save and load that one, so checkpoints do not
    depend on the wrapper.
    """

    def __init__(
        self,
        model: nn.Module,
        device: torch.device | str,
        enabled: bool | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        self.device_type = torch.device(device).type
        self.enabled = bf16_supported(device) if enabled is None else enabled
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            inputs = tuple(
                x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
                for x in inputs
            )
        with torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.enabled):
            output = self.model(*inputs)
        return output.float()

    def extra_repr(self) -> str:
        return f"bfloat16={'on' if self.enabled else 'off'}"
