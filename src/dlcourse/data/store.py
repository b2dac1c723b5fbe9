"""Finding a dataset in the data directory, or downloading and installing it there."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from dlcourse.config import DATA_ENV, SettingError, data_root
from dlcourse.data.download import DownloadError, download_file, hash_matches
from dlcourse.data.files import DISK_FULL, TOO_LARGE, write_error
from dlcourse.data.lock import file_lock
from dlcourse.data.registry import Dataset, DatasetError

DOWNLOADS = "downloads"
LOCK_FILE = ".lock"


def resolve_root(root: Path | str | None) -> Path:
    """``root`` as an absolute path, or the course data directory (``DLCOURSE_DATA``) when it
    is None. Creates nothing; a ``DLCOURSE_DATA`` naming a file is a :class:`DatasetError`."""
    if root is not None:
        return Path(os.path.abspath(Path(root).expanduser()))
    try:
        return data_root()
    except SettingError as err:
        raise DatasetError(str(err)) from None


def downloads_dir(spec: Dataset, root: Path) -> Path:
    """Where the dataset's original downloads are kept: ``<root>/downloads/<name>/``."""
    return root / DOWNLOADS / spec.name


def manual_steps(spec: Dataset, root: Path) -> str:
    """How to install ``spec`` by hand under ``root``: the exact layout, or the original files."""
    lines = [
        f"To install {spec.title} by hand, put these under the data directory {root} "
        f"(set {DATA_ENV} to use another one):",
        *(f"  {entry}" for entry in spec.layout),
    ]
    if spec.remote:
        names = [f.name for f in spec.remote]
        listed = ", ".join(names) if len(names) <= 4 else f"{names[0]} ... {names[-1]}"
        lines.append(
            f"or put the original download ({listed}) in {downloads_dir(spec, root)}/ and run "
            f"`dlcourse data fetch {spec.name}`."
        )
    return "\n".join(lines)


def _remove_empty_folders(path: Path, root: Path) -> None:
    """Remove the folders above ``path`` that a failed download left empty, up to ``root``."""
    for folder in path.parents:
        if folder == root or root not in folder.parents:
            return
        try:
            folder.rmdir()
        except OSError:  # not empty
            return


def ensure(spec: Dataset, root: Path, download: bool = True) -> Path:
    """Return the folder holding the complete dataset, downloading and installing it if needed.

    A dataset already complete under ``root`` is used as it is: no network, no hashing.
    """
    folder = spec.locate(root)
    if folder is not None:
        return folder
    if not download or spec.install is None:
        raise DatasetError(
            f"{spec.title} ({spec.name}) is not in the data directory {root} and downloading "
            f"is switched off (download=False).\n{manual_steps(spec, root)}"
        )
    target = downloads_dir(spec, root)
    with ExitStack() as stack:
        _lock(stack, spec, root, target / LOCK_FILE)
        try:
            return _download_and_install(spec, root, target)
        except BaseException:
            _tidy(target, root)  # while still holding the lock
            raise


def _lock(stack: ExitStack, spec: Dataset, root: Path, lock: Path) -> None:
    """Take the dataset's lock (``downloads/<name>/.lock``) for the rest of ``stack``, waiting
    while another process downloads or unpacks it; a data directory that cannot be written
    is a :class:`DatasetError` naming it."""
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        stack.enter_context(file_lock(lock))
    except OSError as err:
        _remove_empty_folders(lock, root)
        if err.errno in DISK_FULL | TOO_LARGE:
            raise write_error(err, lock, spec.download_size or None) from None
        where = err.filename or lock.parent
        raise DatasetError(
            f"Cannot write to the data directory {root} to download {spec.title} "
            f"({err.strerror or err}: {where}). Make it writable, or set {DATA_ENV} to a "
            f"folder you can write to.\n{manual_steps(spec, root)}"
        ) from None


def _tidy(target: Path, root: Path) -> None:
    """After a failure, remove the lock file and the folders it leaves empty, unless other
    downloads are there."""
    try:
        if any(p.name != LOCK_FILE for p in target.iterdir()):
            return
        (target / LOCK_FILE).unlink(missing_ok=True)
    except OSError:
        return
    _remove_empty_folders(target / LOCK_FILE, root)


def _download_and_install(spec: Dataset, root: Path, target: Path) -> Path:
    """Under the dataset's lock: re-check for a complete copy (another process may have just
    installed it), else download the files and install them."""
    folder = spec.locate(root)
    if folder is not None:
        return folder
    assert spec.install is not None
    for remote in spec.remote:
        try:
            download_file(remote, target / remote.name)
        except DownloadError as err:
            tried = "\n".join(f"  {line}" for line in err.attempts)
            raise DatasetError(
                f"Could not download {spec.title} ({spec.name}): every URL for {remote.name} "
                f"failed (no network, or every host down?). Tried:\n{tried}\n"
                f"{manual_steps(spec, root)}"
            ) from None
    try:
        spec.install(target, root)
    except OSError as err:  # the installers report their own; this catches any other
        raise write_error(err, root / spec.folder) from None
    folder = spec.locate(root)
    if folder is None:
        raise DatasetError(
            f"{spec.title} was downloaded and unpacked but {root / spec.folder} is still "
            f"incomplete.\n{manual_steps(spec, root)}"
        )
    return folder


def verify(spec: Dataset, root: Path) -> list[tuple[Path, str]]:
    """Re-check the hash of each downloaded file: ``(path, "ok" | "hash mismatch" | "absent")``."""
    results = []
    for remote in spec.remote:
        path = downloads_dir(spec, root) / remote.name
        if not path.exists():
            results.append((path, "absent"))
        else:
            ok = hash_matches(path, remote.known_hash)
            results.append((path, "ok" if ok else "hash mismatch"))
    return results
