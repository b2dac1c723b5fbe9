"""A lock file that lets one process at a time download and unpack a dataset."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: fall back to the filelock package
    fcntl = None  # type: ignore[assignment]


@contextmanager
def file_lock(
    path: Path, on_busy: Callable[[int | None], None] | None = None
) -> Iterator[int | None]:
    """Hold an exclusive lock on ``path`` (created if missing), waiting for other holders.

    On POSIX this is ``fcntl.flock``; the lock goes with the process, so a killed holder
    never leaves a stale lock. The holder may delete the lock file before leaving the block;
    waiters then notice and lock a fresh file. ``on_busy``, if given, is called once before
    waiting for another holder, with the open lock file's descriptor (None where the
    ``filelock`` package stands in for ``fcntl``). Yields that descriptor (or None). Raises
    ``OSError`` when the lock file cannot be created.
    """
    if fcntl is None:
        from filelock import FileLock, Timeout

        lock = FileLock(str(path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_busy is not None:
                on_busy(None)
            lock.acquire()
        try:
            yield None
        finally:
            lock.release()
        return
    fd = _locked_fd(path, on_busy)
    try:
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _locked_fd(path: Path, on_busy: Callable[[int | None], None] | None) -> int:
    """Open and lock ``path``; retry when the file was replaced or removed while waiting."""
    told = False
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)  # a failed holder may have removed it
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_busy is not None and not told:
                    on_busy(fd)
                    told = True
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
