"""Safe extraction and atomic writes: refused members, truncated archives, nothing half-done."""

from __future__ import annotations

import gzip
import tarfile

import pytest
from data_fixtures import tar_bytes

from dlcourse.atomic import atomic_file
from dlcourse.data import DatasetError
from dlcourse.data.archive import extract_tar
from dlcourse.data.files import gunzip_file

GOOD = [("top/a.txt", b"alpha"), ("top/sub/b.txt", b"beta")]


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info


def write_archive(path, members) -> None:
    path.write_bytes(tar_bytes(members))


def test_good_archive_is_extracted_into_place(tmp_path):
    write_archive(tmp_path / "a.tar.gz", [*GOOD, link("top/ok-link", "a.txt")])
    dest = tmp_path / "data"
    folder = extract_tar(tmp_path / "a.tar.gz", dest, "top")
    assert folder == dest / "top"
    assert (folder / "sub" / "b.txt").read_bytes() == b"beta"
    assert (folder / "ok-link").read_bytes() == b"alpha"
    assert [p.name for p in dest.iterdir()] == ["top"]  # no temporary folder left


@pytest.mark.parametrize(
    "evil",
    [
        ("../x", b"escaped"),
        ("top/../../x", b"escaped"),
        ("/tmp/dlcourse-test-absolute-x", b"escaped"),
        link("top/link", "../../x"),
        link("top/link", "/etc/passwd"),
        link("top/hard", "../x", tarfile.LNKTYPE),
        device("top/dev"),
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink-out",
        "symlink-absolute",
        "hardlink-out",
        "device",
    ],  # fmt: skip
)
def test_members_escaping_the_folder_are_refused(tmp_path, evil):
    write_archive(tmp_path / "evil.tar.gz", [*GOOD, evil])
    dest = tmp_path / "data"
    with pytest.raises(DatasetError, match="Refusing to extract .*evil.tar.gz"):
        extract_tar(tmp_path / "evil.tar.gz", dest, "top")
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_archive_is_a_clear_error_and_leaves_nothing(tmp_path, cut):
    data = tar_bytes([("top/big.bin", bytes(range(256)) * 4000), *GOOD])
    (tmp_path / "cut.tar.gz").write_bytes(data[: int(len(data) * cut)])
    dest = tmp_path / "data"
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        extract_tar(tmp_path / "cut.tar.gz", dest, "top")
    assert list(dest.iterdir()) == []


def test_not_an_archive_is_a_clear_error(tmp_path):
    (tmp_path / "junk.tar.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        extract_tar(tmp_path / "junk.tar.gz", tmp_path / "data", "top")


def test_archive_without_the_expected_folder_is_refused(tmp_path):
    write_archive(tmp_path / "a.tar.gz", [("other/a.txt", b"x")])
    with pytest.raises(DatasetError, match="no top-level folder top/"):
        extract_tar(tmp_path / "a.tar.gz", tmp_path / "data", "top")
    assert list((tmp_path / "data").iterdir()) == []


def test_an_incomplete_existing_folder_is_not_overwritten(tmp_path):
    write_archive(tmp_path / "a.tar.gz", GOOD)
    (tmp_path / "data" / "top").mkdir(parents=True)
    (tmp_path / "data" / "top" / "mine.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="exists but is incomplete"):
        extract_tar(tmp_path / "a.tar.gz", tmp_path / "data", "top")
    assert (tmp_path / "data" / "top" / "mine.txt").read_text() == "keep me"


def test_atomic_file_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_truncated_gzip_is_a_clear_error_and_leaves_nothing(tmp_path):
    data = gzip.compress(bytes(range(256)) * 1000)
    (tmp_path / "f.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"f\.gz is truncated or corrupt"):
        gunzip_file(tmp_path / "f.gz", tmp_path / "out" / "f")
    assert list((tmp_path / "out").iterdir()) == []
