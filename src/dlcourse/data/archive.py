"""Safe extraction of tar archives: nothing outside the target folder, nothing half-extracted."""

from __future__ import annotations

import gzip
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from dlcourse.data.files import write_error
from dlcourse.data.registry import DatasetError

# Python's own "data" filter (3.10.12+, 3.11.4+) as a second line of defence behind our checks,
# which do not rely on it (older Pythons lack it).
_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)


def _escapes(path: str) -> bool:
    """True when the archive-relative ``path`` is absolute or climbs above the archive root."""
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return True
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why extracting ``member`` would be unsafe, or None when it is a plain file or folder."""
    if _escapes(member.name) or ".." in member.name.replace("\\", "/").split("/"):
        return "has an absolute path or a '..' component"
    if member.issym():
        target = posixpath.join(posixpath.dirname(member.name), member.linkname)
        if member.linkname.startswith("/") or _escapes(target):
            return f"is a link pointing outside the archive folder ({member.linkname})"
    elif member.islnk():
        if _escapes(member.linkname):
            return f"is a link pointing outside the archive folder ({member.linkname})"
    elif not (member.isfile() or member.isdir()):
        return "is a device, FIFO or other special file"
    return None


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _real(*parts: str) -> str:
    return os.path.realpath(os.path.join(*parts))


def _resolved_escape(member: tarfile.TarInfo, tmp: Path) -> str | None:
    """Why ``member`` would land outside ``tmp`` once the links already extracted there are
    followed (``os.path.realpath``), or None. Catches chains of links that each look harmless."""
    root = os.path.realpath(tmp)
    where = os.path.join(root, member.name)
    if not _inside(os.path.realpath(where), root):
        return "would be written outside the archive folder through a link"
    if member.issym():
        pointed = os.path.join(os.path.dirname(where), member.linkname)
        if not _inside(os.path.realpath(pointed), root):
            return f"is a link resolving outside the archive folder ({member.linkname})"
    elif member.islnk() and not _inside(_real(root, member.linkname), root):
        return f"is a link resolving outside the archive folder ({member.linkname})"
    return None


def _refuse(archive: Path, name: str, reason: str) -> DatasetError:
    return DatasetError(
        f"Refusing to extract {archive}: member {name!r} {reason}. It is not the expected "
        "archive; delete it and download it again."
    )


def extract_tar(archive: Path, dest: Path, top: str) -> Path:
    """Extract ``archive`` and move its top-level folder ``top`` to ``dest / top``; return it.

    Members with an absolute path, a ``..`` component, a link pointing outside (also through a
    chain of links, checked on the resolved path of each member), or a special file type are
    refused; so is anything Python's tar ``data`` filter refuses, where Python has it.
    Everything is extracted into a temporary folder first and renamed into place at the end,
    so a failure leaves nothing behind. A failed write (full disk, file-size limit, ...) is a
    :class:`DatasetError` naming the file and saying how much space to free.
    """
    target = dest / top
    if target.exists():
        raise DatasetError(
            f"{target} exists but is incomplete. Delete that folder and run again, or complete "
            "it by hand."
        )
    writing: list[tarfile.TarInfo] = []  # the member being extracted, for a failed write
    try:
        with _open(archive) as tar:
            _extract(tar, archive, dest, top, writing)
    except OSError as err:  # after the partial files are removed: the free space is real
        member = writing[-1] if writing else None
        where = dest / member.name if member is not None else target
        size = member.size if member is not None else None
        raise write_error(err, where, _unpacked_size(archive), size) from None
    return target


def _open(archive: Path) -> tarfile.TarFile:
    """``archive`` opened for reading; :class:`DatasetError` when it cannot be."""
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise _corrupt(archive, err) from None


def _corrupt(archive: Path, err: BaseException) -> DatasetError:
    return DatasetError(
        f"{archive} is truncated or corrupt ({err}). Delete it and run again to download a "
        "fresh copy."
    )


def _unpacked_size(archive: Path) -> int | None:
    """The bytes that extracting ``archive`` writes (its members' sizes), or None."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            return sum(member.size for member in tar)
    except (tarfile.TarError, EOFError, zlib.error, OSError):
        return None


def _extract(
    tar: tarfile.TarFile, archive: Path, dest: Path, top: str, writing: list[tarfile.TarInfo]
) -> None:
    """Extract ``tar`` into a temporary folder under ``dest`` and rename its ``top`` into place;
    the temporary folder is removed whatever happens."""
    target = dest / top
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".partial-{top}-", dir=dest))
    try:
        for member in tar:
            reason = _unsafe_reason(member) or _resolved_escape(member, tmp)
            if reason:
                raise _refuse(archive, member.name, reason)
            writing[:] = [member]
            try:
                tar.extract(member, tmp, **_FILTER)
            except _FILTER_ERRORS as err:
                reason = f"is refused by tar's data filter ({err})"
                raise _refuse(archive, member.name, reason) from None
        writing.clear()
        if not (tmp / top).is_dir():
            raise DatasetError(
                f"{archive} has no top-level folder {top}/, so it is not the expected archive. "
                "Delete it and download it again."
            )
        try:
            (tmp / top).rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # Another process extracted the same archive first; its rename was atomic too.
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise _corrupt(archive, err) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
