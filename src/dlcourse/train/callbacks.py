"""Callbacks: small objects that ``fit`` calls after every epoch.

A callback is any object with ``on_epoch_end(epoch, record, model)``; returning True stops
training. That is enough to plot live, save samples, or stop on a rule of your own without
editing the engine. :class:`~dlcourse.train.EarlyStopping` is one. A callback that also has
``state_dict()`` / ``load_state_dict()`` is saved in checkpoints and restored on resume.

Under ``torch.distributed`` every rank calls its callbacks with the same (averaged) record,
so a callback that decides from the record alone stops all ranks together.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import nn


@runtime_checkable
class Callback(Protocol):
    """What ``fit(callbacks=[...])`` accepts."""

    def on_epoch_end(self, epoch: int, record: dict[str, float], model: nn.Module) -> bool | None:
        """Called after each epoch with its record; True stops training."""


def check_callbacks(callbacks: list[object]) -> list[Callback]:
    """Refuse anything without an ``on_epoch_end`` method, naming it."""
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"callback {cb!r} has no on_epoch_end(epoch, record, model) method; "
                "see dlcourse.train.callbacks"
            )
    return callbacks  # type: ignore[return-value]


def describe(callback: Callback) -> str:
    """The callback's own account of why it stopped, or its class name."""
    describe_stop = getattr(callback, "describe_stop", None)
    return describe_stop() if callable(describe_stop) else type(callback).__name__
