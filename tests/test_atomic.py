"""``dlcourse.atomic.atomic_file``: fsync before the rename, no ``.part`` left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import dlcourse.atomic as atomic_module
from dlcourse.atomic import atomic_file


def test_the_file_is_flushed_to_disk_before_it_replaces_the_target(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(atomic_module.os, "fsync", fsync)
    monkeypatch.setattr(atomic_module.os, "replace", replace)
    target = tmp_path / "out.bin"
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert events[:2] == ["fsync", "replace"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failing_writer_leaves_the_old_file_and_no_part(tmp_path, error):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(error), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise error("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.skipif(os.name != "posix", reason="process ids in part names are checked on POSIX")
def test_stray_parts_of_a_killed_writer_are_removed_on_the_next_write(tmp_path):
    target = tmp_path / "out.bin"
    dead = tmp_path / f".out.bin.{_dead_pid()}-0badc0de.part"
    old_style = tmp_path / ".out.bin.k3j4h5g6.part"
    live = tmp_path / f".out.bin.{os.getpid()}-feedbeef.part"  # another writer, still running
    recent = tmp_path / ".out.bin.a1b2c3d4.part"
    other = tmp_path / ".other.bin.1-0badc0de.part"
    for part in (dead, old_style, live, recent, other):
        part.write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(old_style, (hours_ago, hours_ago))
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["out.bin", live.name, recent.name, other.name])
