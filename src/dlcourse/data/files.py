"""Decompressing and copying dataset files atomically; a failed write as one clear error."""

from __future__ import annotations

import errno
import gzip
import math
import os
import shutil
import struct
import zlib
from pathlib import Path

from dlcourse.atomic import atomic_file
from dlcourse.config import DATA_ENV
from dlcourse.data.registry import DatasetError

#: Errors that mean the disk (or the user's quota on it) is full.
DISK_FULL = frozenset({errno.ENOSPC} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set()))
#: Errors that mean one file may not grow that large (``ulimit -f``, FAT32's 4 GB).
TOO_LARGE = frozenset({errno.EFBIG})


def _mb(n_bytes: int) -> str:
    """Megabytes, rounded up to 0.1 MB."""
    return f"{max(1, math.ceil(n_bytes / 1e5)) / 10:.1f}"


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the disk that holds ``path`` (or its nearest existing folder)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def write_error(
    err: OSError, target: Path, needed: int | None = None, file_size: int | None = None
) -> DatasetError:
    """The :class:`DatasetError` for an ``OSError`` raised while writing ``target``: one line
    saying what happened and what to do.

    ``needed`` is about how many bytes the whole job writes (for "free N MB"), ``file_size``
    the size of the one file that failed (for a file-size limit). Call it after the partial
    files are removed, so that the free space it reports is the real one.
    """
    if err.errno in DISK_FULL:
        what = "No space left on device" if err.errno == errno.ENOSPC else "Disk quota exceeded"
        free = _free_bytes(target)
        if needed is None:
            room = "free some space"
        elif free is None or free >= needed:  # others may have filled the disk meanwhile
            room = f"free at least {_mb(needed)} MB"
        else:
            room = (
                f"free {_mb(needed - free)} MB (it needs about {_mb(needed)} MB, "
                f"{free / 1e6:.1f} MB are free)"
            )
        return DatasetError(
            f"{what} while writing {target}: {room} or set {DATA_ENV} to another disk."
        )
    if err.errno in TOO_LARGE:
        size = file_size if file_size is not None else needed
        of = f"a file of {_mb(size)} MB" if size else "a file this large"
        return DatasetError(
            f"File too large while writing {target}: a file-size limit (ulimit -f) or the file "
            f"system refuses {of}. Raise the limit, or set {DATA_ENV} to another disk."
        )
    where = f" ({err.filename})" if err.filename and Path(err.filename) != target else ""
    return DatasetError(
        f"Could not write {target}{where}: {err.strerror or err}. Check that disk and the "
        f"folder's permissions, or set {DATA_ENV} to another folder."
    )


def gzip_size(source: Path) -> int | None:
    """The uncompressed size a .gz file records in its trailer (modulo 4 GiB), or None."""
    try:
        with open(source, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return struct.unpack("<I", fh.read(4))[0]
    except (OSError, struct.error):
        return None


def gunzip_file(source: Path, target: Path, needed: int | None = None) -> None:
    """Decompress ``source`` (.gz) into ``target`` atomically. A failed write (full disk, ...)
    is a :class:`DatasetError` and leaves no partial file; ``needed`` is the bytes the whole
    job still writes, for its message (default: this file's)."""
    try:
        with atomic_file(target) as tmp, gzip.open(source, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, length=1 << 20)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DatasetError(
            f"{source} is truncated or corrupt ({err}). Delete it and run again to download a "
            "fresh copy."
        ) from None
    except OSError as err:
        size = gzip_size(source)
        raise write_error(err, target, needed or size, size) from None


def copy_file(source: Path, target: Path, needed: int | None = None) -> None:
    """Copy ``source`` to ``target`` atomically; a failed write is a :class:`DatasetError`
    (``needed`` as in :func:`gunzip_file`)."""
    try:
        with atomic_file(target) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as err:
        try:
            size: int | None = source.stat().st_size
        except OSError:
            size = None
        raise write_error(err, target, needed or size, size) from None
