"""Writing files so that a crash never leaves a half-written one in place."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PART_SUFFIX = ".part"
STALE_SECONDS = 3600  # a .part file without a process id is stray once it is this old


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; it replaces ``target`` when the block succeeds.

    The temporary file (``.<name>.<pid>-<random>.part``) is flushed to disk (``fsync``) before
    it is renamed over ``target``, so a power cut leaves the old or the new file, never an empty
    one. When the block fails, the temporary file is removed. Stray ``.part`` files of the same
    target left by a killed process are removed first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stray_parts(target)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{PART_SUFFIX}"
    try:
        tmp.touch(mode=0o600, exist_ok=False)
        yield tmp
        tmp.chmod(0o644)
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def remove_stray_parts(target: Path) -> list[Path]:
    """Remove ``.part`` files of ``target`` whose writing process is gone; returns them.

    A part file named with a process id is stray when that process no longer runs (on POSIX);
    any other when it has not been touched for an hour. Part files of running writers
    are left alone.
    """
    removed = []
    prefix = f".{target.name}."
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for part in candidates:
        middle = part.name[len(prefix) :]
        if not middle.endswith(PART_SUFFIX) or not _is_stray(middle[: -len(PART_SUFFIX)], part):
            continue
        with contextlib.suppress(OSError):
            part.unlink()
            removed.append(part)
    return removed


def _is_stray(tag: str, part: Path) -> bool:
    pid, dash, _ = tag.partition("-")
    if dash and pid.isdigit() and os.name == "posix":
        return not _process_alive(int(pid))
    try:
        return time.time() - part.stat().st_mtime > STALE_SECONDS
    except OSError:
        return False


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (owned by someone else), or we cannot tell: keep its file
    return True


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable too, where the platform allows opening a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
