"""Writing files so that a crash never leaves a half-written one in place."""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dlcourse.data.registry import DatasetError


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; it replaces ``target`` when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def gunzip_file(source: Path, target: Path) -> None:
    """Decompress ``source`` (.gz) into ``target`` atomically."""
    try:
        with atomic_file(target) as tmp, gzip.open(source, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, length=1 << 20)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DatasetError(
            f"{source} is truncated or corrupt ({err}). Delete it and run again to download a "
            "fresh copy."
        ) from None


def copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically."""
    with atomic_file(target) as tmp:
        shutil.copyfile(source, tmp)
