"""A full disk (ENOSPC) or a file-size limit (EFBIG) while fetching: one clear error, no
partial files left behind, and the CLI prints one line."""

from __future__ import annotations

import dataclasses
import errno
import gzip
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pooch
import pytest
from data_fixtures import fashion_files, isbi_files, serve, sha256, tar_bytes

import dlcourse.data.download as download_module
from dlcourse.cli import main
from dlcourse.data import (
    DATASETS,
    Dataset,
    DatasetError,
    RemoteFile,
    cifar10,
    fashion_mnist,
    isbi2012,
)
from dlcourse.data.store import downloads_dir, ensure

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

CODES = {
    errno.ENOSPC: "No space left on device while writing",
    errno.EFBIG: "File too large while writing",
}


@pytest.fixture(autouse=True)
def no_retries(monkeypatch):
    monkeypatch.setattr(download_module, "RETRIES", 0)


def failing(code: int, written: list[int] | None = None):
    """A replacement for a copy function that writes a little to its target, then fails."""

    def copy(source, target, *args, **kwargs):
        if isinstance(target, str | os.PathLike):
            Path(target).write_bytes(b"partial")
        else:
            target.write(b"partial")
        if written is not None:
            written.append(1)
        raise OSError(code, os.strerror(code))

    return copy


def all_files(root: Path) -> list[str]:
    """The files under ``root`` but the download lock, which may stay."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != ".lock"
    )


def cifar_spec(archive: bytes, *urls: str) -> Dataset:
    remote = RemoteFile(cifar10.ARCHIVE, urls or ("http://127.0.0.1:9/a.tar.gz",),
                        sha256(archive), len(archive))  # fmt: skip
    return dataclasses.replace(cifar10.SPEC, remote=(remote,))


def placed(spec, root: Path, files: dict[str, bytes]) -> None:
    """Put the original downloads in place (hashes match: no network)."""
    folder = downloads_dir(spec, root)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


BIG_MEMBER = ("cifar-10-batches-py/data_batch_1", bytes(2_000_000))


@pytest.mark.parametrize("code", CODES)
def test_a_download_that_fills_the_disk_is_one_clear_error(tmp_path, monkeypatch, code):
    calls = []
    downloader = failing(code, calls)
    monkeypatch.setattr(
        pooch.HTTPDownloader, "__call__", lambda self, url, out, p, **k: downloader(url, out)
    )
    body = b"x" * 3_000_000
    spec = cifar_spec(body, "http://127.0.0.1:9/a/f.tar.gz", "http://127.0.0.1:9/b/f.tar.gz")
    with pytest.raises(DatasetError) as err:
        ensure(spec, tmp_path)
    message = str(err.value)
    target = downloads_dir(spec, tmp_path) / cifar10.ARCHIVE
    assert message.startswith(f"{CODES[code]} {target}")
    assert "DLCOURSE_DATA" in message and "\n" not in message and "network" not in message
    if code == errno.ENOSPC:
        assert " MB " in message and "free " in message
    assert calls == [1]  # a full disk is not a reason to try the next mirror
    assert all_files(tmp_path) == []  # the partial download is gone


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    ("dataset", "patch"),
    [("cifar10", "tarfile.copyfileobj"), ("fashion_mnist", "shutil.copyfileobj"),
     ("isbi2012", "shutil.copyfile")],
)  # fmt: skip
def test_unpacking_onto_a_full_disk_is_one_clear_error(tmp_path, monkeypatch, code, dataset, patch):
    if dataset == "cifar10":
        archive = tar_bytes([BIG_MEMBER])
        spec, files = cifar_spec(archive), {cifar10.ARCHIVE: archive}
    else:
        module = fashion_mnist if dataset == "fashion_mnist" else isbi2012
        files = (
            {f"{n}.gz": gzip.compress(d) for n, d in fashion_files().items()}
            if dataset == "fashion_mnist"
            else isbi_files()
        )
        remote = tuple(RemoteFile(n, ("http://127.0.0.1:9/x",), sha256(d), len(d))
                       for n, d in files.items())  # fmt: skip
        spec = dataclasses.replace(module.SPEC, remote=remote)
    placed(spec, tmp_path, files)
    before = all_files(tmp_path)
    module_name, name = patch.split(".")
    monkeypatch.setattr({"tarfile": tarfile, "shutil": shutil}[module_name], name, failing(code))
    with pytest.raises(DatasetError) as err:
        ensure(spec, tmp_path)
    message = str(err.value)
    assert message.startswith(f"{CODES[code]} {tmp_path / spec.folder.split('/')[0]}")
    assert "DLCOURSE_DATA" in message and "\n" not in message
    if code == errno.ENOSPC:
        assert " MB " in message and "free " in message
    assert all_files(tmp_path) == before  # downloads kept, nothing half-written


def test_the_cli_prints_one_line_when_the_disk_is_full(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    archive = tar_bytes([BIG_MEMBER])
    monkeypatch.setitem(DATASETS, "cifar10", cifar_spec(archive))
    placed(DATASETS["cifar10"], tmp_path, {cifar10.ARCHIVE: archive})
    monkeypatch.setattr(tarfile, "copyfileobj", failing(errno.ENOSPC))
    assert main(["data", "fetch", "cifar10"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No space left on device while writing")
    assert "set DLCOURSE_DATA to another disk" in lines[0]


SCRIPT = textwrap.dedent(
    """
    import dataclasses, sys
    from dlcourse.cli import main
    from dlcourse.data import DATASETS, RemoteFile
    url, digest, size = sys.argv[1:4]
    remote = RemoteFile("cifar-10-python.tar.gz", (url,), digest, int(size))
    DATASETS["cifar10"] = dataclasses.replace(DATASETS["cifar10"], remote=(remote,))
    sys.exit(main(["data", "fetch", "cifar10"]))
    """
)
LIMIT = 256 * 1024


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.mark.skipif(resource is None or not hasattr(signal, "SIGXFSZ"), reason="POSIX only")
@pytest.mark.parametrize("stage", ["download", "extraction"])
def test_the_cli_under_a_file_size_limit_prints_one_line(tmp_path, stage):
    """``ulimit -f``: writes past the limit fail with EFBIG (SIGXFSZ ignored)."""
    root = tmp_path / "data"
    if stage == "download":
        body = os.urandom(4 * LIMIT)
    else:
        body = tar_bytes([BIG_MEMBER])
        assert len(body) < LIMIT
        placed(cifar10.SPEC, root, {cifar10.ARCHIVE: body})
    before = all_files(root) if root.exists() else []
    env = dict(os.environ, DLCOURSE_DATA=str(root), PYTHONDONTWRITEBYTECODE="1")
    with serve() as server:
        url = server.add(f"/{cifar10.ARCHIVE}", body)
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, url, sha256(body), str(len(body))],
            capture_output=True, text=True, env=env, preexec_fn=_limited, timeout=120,
        )  # fmt: skip
    lines = done.stderr.strip().splitlines()  # a download may show its progress bar first
    errors = [line for line in lines if line.startswith("error:")]
    assert done.returncode == 1, done.stderr
    assert len(errors) == 1 and errors[0] == lines[-1], lines
    assert errors[0].startswith("error: File too large while writing"), lines
    assert "Traceback" not in done.stderr
    assert all_files(root) == before if root.exists() else not before
