"""What the data layer knows about a dataset: where it lives, where to download it, its licence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class DatasetError(RuntimeError):
    """A dataset cannot be found, downloaded, extracted or read; the message says what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download.

    ``name`` is its file name under ``<data dir>/downloads/<dataset>/``; ``urls`` are tried in
    order (the official host first, then mirrors); ``known_hash`` is ``"sha256:<hex>"`` or, where
    only that is published, ``"md5:<hex>"``; ``size`` is in bytes.
    """

    name: str
    urls: tuple[str, ...]
    known_hash: str
    size: int


@dataclass(frozen=True)
class Dataset:
    """A dataset of the course.

    ``folder`` is where the extracted dataset lives, relative to the data directory, and
    ``layout`` lists (for people) the files that must be there. ``locate(root)`` returns the
    folder when it is complete and ``None`` otherwise. ``install(downloads, root)`` turns the
    downloaded ``remote`` files into that layout.
    """

    name: str
    title: str
    folder: str
    layout: tuple[str, ...]
    locate: Callable[[Path], Path | None]
    remote: tuple[RemoteFile, ...]
    install: Callable[[Path, Path], None] | None
    licence: str
    citation: str
    homepage: str

    @property
    def download_size(self) -> int:
        """Total bytes to download (0 for data that ships with the package)."""
        return sum(f.size for f in self.remote)
