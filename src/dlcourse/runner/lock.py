"""The report folder's lock: one ``dlcourse run`` at a time writes into an ``--out`` folder.

The same approach as :mod:`dlcourse.data.lock` (``fcntl.flock``, the ``filelock`` package where
``fcntl`` is missing), plus a first try without waiting, so that a run that has to wait can say
so and name the process it waits for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dlcourse.data.lock import same_file

try:
    import fcntl
except ImportError:  # Windows: fall back to the filelock package
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".dlcourse-run.lock"


@contextmanager
def out_lock(out: Path, *, on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock of report folder ``out`` (which must exist) for the block.

    When another process holds it, ``on_wait`` gets one message saying so (with that process's
    id where known), then this waits until the other run ends; Ctrl-C stops the wait. The lock
    goes with the process, so a killed run never leaves a stale lock. The lock file stays in
    ``out``. Raises ``OSError`` when it cannot be created.
    """
    path = Path(out) / LOCK_FILE
    message = f"waiting for another dlcourse run writing to {out} to finish (Ctrl-C to stop)"
    if fcntl is None:
        from filelock import FileLock, Timeout

        lock = FileLock(str(path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            on_wait(message)
            lock.acquire()
        try:
            yield
        finally:
            lock.release()
        return
    fd = _locked_fd(path, on_wait, message)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _locked_fd(path: Path, on_wait: Callable[[str], None], message: str) -> int:
    """Open and lock ``path``, telling ``on_wait`` once when another process holds it; retry
    when the file was replaced or removed while waiting."""
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not told:
                    holder = _holder(fd)
                    who = f" (pid {holder})" if holder else ""
                    on_wait(message.replace(" to finish", f"{who} to finish", 1))
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            if same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # someone removed the file: lock the new one instead


def _holder(fd: int) -> str:
    """The process id the holder wrote into the lock file, or ``""``."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else ""
