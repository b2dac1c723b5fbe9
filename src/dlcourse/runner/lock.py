"""The report folder's lock: one ``dlcourse run`` at a time writes into an ``--out`` folder.

The lock of :mod:`dlcourse.data.lock` (``fcntl.flock``, the ``filelock`` package where
``fcntl`` is missing), whose first try does not wait, so that a run that has to wait can say so
and name the process it waits for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dlcourse.data.lock import file_lock

LOCK_FILE = ".dlcourse-run.lock"


@contextmanager
def out_lock(out: Path, *, on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock of report folder ``out`` (which must exist) for the block.

    When another process holds it, ``on_wait`` gets one message saying so (with that process's
    id where known), then this waits until the other run ends; Ctrl-C stops the wait. The lock
    goes with the process, so a killed run never leaves a stale lock. The lock file stays in
    ``out``. Raises ``OSError`` when it cannot be created.
    """

    def busy(fd: int | None) -> None:
        holder = _holder(fd) if fd is not None else ""
        who = f" (pid {holder})" if holder else ""
        on_wait(
            f"waiting for another dlcourse run writing to {out}{who} to finish (Ctrl-C to stop)"
        )

    with file_lock(Path(out) / LOCK_FILE, on_busy=busy) as fd:
        if fd is not None:  # say who holds it, for the next run that has to wait
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield


def _holder(fd: int) -> str:
    """The process id the holder wrote into the lock file, or ``""``."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else ""
