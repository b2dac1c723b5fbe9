"""Decompressing and copying dataset files atomically."""

from __future__ import annotations

import gzip
import shutil
import zlib
from pathlib import Path

from dlcourse.atomic import atomic_file
from dlcourse.data.registry import DatasetError


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
