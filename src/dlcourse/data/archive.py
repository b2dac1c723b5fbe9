"""Safe extraction of tar archives: nothing outside the target folder, nothing half-extracted."""

from __future__ import annotations

import gzip
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from dlcourse.data.registry import DatasetError

# Python's own "data" filter (3.10.12+, 3.11.4+) as a second line of defence behind our checks.
_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


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


def extract_tar(archive: Path, dest: Path, top: str) -> Path:
    """Extract ``archive`` and move its top-level folder ``top`` to ``dest / top``; return it.

    Members with an absolute path, a ``..`` component, a link pointing outside, or a special file
    type are refused. Everything is extracted into a temporary folder first and renamed into place
    at the end, so a failure leaves nothing behind.
    """
    target = dest / top
    if target.exists():
        raise DatasetError(
            f"{target} exists but is incomplete. Delete that folder and run again, or complete "
            "it by hand."
        )
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".partial-{top}-", dir=dest))
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                reason = _unsafe_reason(member)
                if reason:
                    raise DatasetError(
                        f"Refusing to extract {archive}: member {member.name!r} {reason}. It is "
                        "not the expected archive; delete it and download it again."
                    )
                tar.extract(member, tmp, **_FILTER)
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
        raise DatasetError(
            f"{archive} is truncated or corrupt ({err}). Delete it and run again to download a "
            "fresh copy."
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
