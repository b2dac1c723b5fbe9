"""A lock file that lets one process at a time download and unpack a dataset."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: fall back to the filelock package
    fcntl = None  # type: ignore[assignment]


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing), waiting for other holders.

    On POSIX this is ``fcntl.flock``; the lock goes with the process, so a killed holder
    never leaves a stale lock. The holder may delete the lock file before leaving the block;
    waiters then notice and lock a fresh file. Raises ``OSError`` when the lock file cannot be
    created.
    """
    if fcntl is None:
        from filelock import FileLock

        with FileLock(str(path)):
            yield
        return
    fd = _locked_fd(path)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def _locked_fd(path: Path) -> int:
    """Open and lock ``path``; retry when the file was replaced or removed while waiting."""
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)  # a failed holder may have removed it
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed the file: lock the new one instead


def same_file(fd: int, path: Path) -> bool:
    """True while the open lock file ``fd`` is still the file at ``path`` (not removed, or
    replaced by another holder)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)
