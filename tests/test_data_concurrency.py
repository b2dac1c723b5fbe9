"""Two processes fetching the same dataset at once: the dataset's lock makes the second wait and
then use the copy the first installed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from data_fixtures import folder_tar, sha256, write_cifar

from dlcourse.data import cifar10

# One fetching process. With "slow", its hash check waits until the test says go; "announce"
# marks when the process is about to take the dataset's lock (where the data layer has one).
CHILD = r"""
import dataclasses, sys, time
from pathlib import Path
import dlcourse.data.download as download
import dlcourse.data.store as store
from dlcourse.data import cifar10
from dlcourse.data.registry import RemoteFile

root, marks, who, known_hash, size = Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:6]
real_hash = download.hash_matches

def hash_matches(path, expected):
    (marks / f"{who}-hashing").touch()
    if who == "slow":
        deadline = time.monotonic() + 60
        while not (marks / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return real_hash(path, expected)

download.hash_matches = hash_matches
if hasattr(store, "file_lock"):
    real_lock = store.file_lock

    def announced(path):
        (marks / f"{who}-locking").touch()
        return real_lock(path)

    store.file_lock = announced
remote = RemoteFile(cifar10.ARCHIVE, ("http://127.0.0.1:9/unreachable",), known_hash, int(size))
spec = dataclasses.replace(cifar10.SPEC, remote=(remote,))
try:
    print(store.ensure(spec, root))
except Exception as err:
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(1)
"""


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the other process never got there"
        time.sleep(0.05)


def test_a_fetch_waits_for_a_slower_one_instead_of_failing(tmp_path):
    archive = folder_tar(write_cifar(tmp_path / "src", per_batch=4), "cifar-10-batches-py")
    root, marks = tmp_path / "data", tmp_path / "marks"
    marks.mkdir()
    downloads = root / "downloads" / "cifar10"
    downloads.mkdir(parents=True)
    (downloads / cifar10.ARCHIVE).write_bytes(archive)  # already downloaded: only hash + unpack

    def start(who: str) -> subprocess.Popen:
        args = [str(root), str(marks), who, sha256(archive), str(len(archive))]
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    slow = start("slow")
    wait_for(lambda: (marks / "slow-hashing").exists() or slow.poll() is not None)
    fast = start("fast")
    wait_for(lambda: fast.poll() is not None or (marks / "fast-locking").exists())
    time.sleep(0.5)  # the fast one is now finished, or waiting for the lock
    (marks / "go").touch()
    outputs = [p.communicate(timeout=120) for p in (slow, fast)]
    for process, (out, err) in zip((slow, fast), outputs, strict=True):
        assert process.returncode == 0, err
        assert Path(out.strip()) == root / "cifar-10-batches-py"
    assert not (marks / "fast-hashing").exists()  # it found the slow one's copy, complete
    assert cifar10.SPEC.locate(root) == root / "cifar-10-batches-py"
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py", "downloads"]
