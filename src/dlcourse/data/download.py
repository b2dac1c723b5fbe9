"""Downloading one file through pooch: URLs in order, retries, hash check, atomic write."""

from __future__ import annotations

from pathlib import Path

import pooch

from dlcourse.data.registry import RemoteFile

RETRIES = 1  # extra attempts per URL after a network error or a hash mismatch
CHUNK_SIZE = 1 << 16


class DownloadError(Exception):
    """Every URL of a file failed; ``attempts`` says what happened at each one."""

    def __init__(self, attempts: list[str]) -> None:
        super().__init__("; ".join(attempts))
        self.attempts = attempts


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
    no file behind. Raises :class:`DownloadError` when every URL fails.
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
        downloader = pooch.HTTPDownloader(progressbar=True, chunk_size=CHUNK_SIZE)
        try:
            return Path(store.fetch(path.name, downloader=downloader))
        except (ValueError, OSError) as err:  # network errors are OSErrors, a bad hash ValueError
            path.unlink(missing_ok=True)
            attempts.append(f"{url}: {_summary(err)}")
    raise DownloadError(attempts)
