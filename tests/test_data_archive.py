"""Safe extraction and atomic writes: refused members, truncated archives, nothing half-done."""

from __future__ import annotations

import gzip
import tarfile

import pytest
from data_fixtures import tar_bytes

import dlcourse.data.archive as archive_module
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


# A chain of links that each look harmless: top/l points at the archive root, top/e at "l/../.."
# (lexically "."), which really is two folders above it; then a file is written through top/e.
CHAIN = [
    *GOOD,
    link("top/l", ".."),
    link("top/e", "l/../.."),
    ("top/e/escaped.txt", b"outside"),
]
NO_FILTER = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


@pytest.mark.parametrize("python_filter", ["none", "data"])
def test_a_chain_of_links_escaping_the_folder_is_refused(tmp_path, monkeypatch, python_filter):
    if python_filter == "none":  # as on Python 3.10 < 3.10.12 and 3.11 < 3.11.4
        monkeypatch.setattr(archive_module, "_FILTER", NO_FILTER)
    elif not archive_module._FILTER:
        pytest.skip("this Python has no tar data filter")
    write_archive(tmp_path / "chain.tar.gz", CHAIN)
    dest = tmp_path / "deep" / "data"
    with pytest.raises(DatasetError, match="Refusing to extract .*'top/e'.* resolving outside"):
        extract_tar(tmp_path / "chain.tar.gz", dest, "top")
    assert list(dest.iterdir()) == []
    assert not list(tmp_path.rglob("escaped.txt"))


def test_the_tar_filter_refusing_a_member_is_reported_as_a_refused_member(tmp_path, monkeypatch):
    if not archive_module._FILTER:
        pytest.skip("this Python has no tar data filter")
    monkeypatch.setattr(archive_module, "_unsafe_reason", lambda member: None)
    monkeypatch.setattr(archive_module, "_resolved_escape", lambda member, tmp: None)
    write_archive(tmp_path / "evil.tar.gz", [*GOOD, link("top/link", "/etc/passwd")])
    with pytest.raises(DatasetError) as err:
        extract_tar(tmp_path / "evil.tar.gz", tmp_path / "data", "top")
    message = str(err.value)
    assert "Refusing to extract" in message and "'top/link'" in message
    assert "data filter" in message and "truncated or corrupt" not in message
