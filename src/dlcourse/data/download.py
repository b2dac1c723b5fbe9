"""Downloading one file through pooch: URLs in order, retries, hash check, atomic write."""

from __future__ import annotations

import sys
from pathlib import Path

import pooch
from tqdm import tqdm

from dlcourse.data.files import DISK_FULL, TOO_LARGE, write_error
from dlcourse.data.registry import RemoteFile

RETRIES = 1  # extra attempts per URL after a network error or a hash mismatch
CHUNK_SIZE = 1 << 16


class DownloadError(Exception):
    """Every URL of a file failed; ``attempts`` says what happened at each one."""

    def __init__(self, attempts: list[str]) -> None:
        super().__init__("; ".join(attempts))
        self.attempts = attempts


class _ProgressBar:
    """The progress bar pooch drives (``total``, ``update``, ``reset``, ``close``), as pooch's
    own but one that we can close when a download fails (pooch closes its own only on
    success) and that starts afresh when pooch retries."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    @property
    def total(self) -> float | None:
        return self._bar.total if self._bar is not None else None

    @total.setter
    def total(self, value: float) -> None:  # pooch sets it at the start of each attempt
        self.close()
        self._bar = tqdm(
            total=value, ncols=79, ascii=sys.platform == "win32", unit="B", unit_scale=True
        )

    def update(self, n: float) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def reset(self) -> None:
        if self._bar is not None:
            self._bar.reset()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def hash_matches(path: Path, known_hash: str) -> bool:
    """True when the file's hash equals ``known_hash`` (``"sha256:<hex>"`` or ``"md5:<hex>"``)."""
    alg, _, expected = known_hash.partition(":")
    return pooch.file_hash(str(path), alg=alg) == expected.lower()


def _summary(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text[:300]}"


def download_file(remote: RemoteFile, path: Path) -> Path:
    """Make ``path`` hold ``remote``, downloading it from its URLs in turn when needed.

    A copy already at ``path`` whose hash matches is kept without any network access; one with a
    wrong hash is removed. pooch streams each download into a temporary file next to ``path``,
    checks the hash and only then moves it into place, so a failed or interrupted transfer leaves
    no file behind. Raises :class:`DownloadError` when every URL fails, and
    :class:`~dlcourse.data.registry.DatasetError` at once when the file cannot be written (full
    disk, file-size limit): no other mirror would help.
    """
    attempts: list[str] = []
    if path.exists():
        if hash_matches(path, remote.known_hash):
            return path
        path.unlink()
        attempts.append(f"{path}: existing copy had the wrong hash and was removed")
    for url in remote.urls:
        store = pooch.create(
            path=path.parent,
            base_url=url.rsplit("/", 1)[0] + "/",
            registry={path.name: remote.known_hash},
            urls={path.name: url},
            retry_if_failed=RETRIES,
        )
        bar = _ProgressBar()
        downloader = pooch.HTTPDownloader(progressbar=bar, chunk_size=CHUNK_SIZE)
        try:
            return Path(store.fetch(path.name, downloader=downloader))
        except (ValueError, OSError) as err:  # network errors are OSErrors, a bad hash ValueError
            bar.close()  # before any message, which would else be glued to the bar
            path.unlink(missing_ok=True)
            if isinstance(err, OSError) and _is_write_error(err):
                # No mirror helps. pooch has removed its temporary file already.
                raise write_error(err, path, remote.size, remote.size) from None
            attempts.append(f"{url}: {_summary(err)}")
    raise DownloadError(attempts)


def _is_write_error(err: OSError) -> bool:
    """True for an error writing the file (full disk, file-size limit, permissions) rather
    than one of the network (requests' errors, which are OSErrors too)."""
    import requests  # as pooch does: only when needed

    if isinstance(err, requests.RequestException):
        return False
    return err.errno in DISK_FULL | TOO_LARGE or err.filename is not None
