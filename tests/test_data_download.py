"""Downloads through a local HTTP server: mirrors, hashes, interruptions, no second download."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib

import pytest
from data_fixtures import (
    fashion_files,
    folder_tar,
    isbi_files,
    serve,
    sha256,
    write_cifar,
)

import dlcourse.data.download as download_module
from dlcourse.data import (
    DatasetError,
    cifar10,
    fashion_mnist,
    fetch,
    isbi2012,
    load_cifar10,
    load_fashion_mnist,
    load_isbi2012,
)
from dlcourse.data.download import DownloadError, download_file
from dlcourse.data.registry import RemoteFile
from dlcourse.data.store import downloads_dir, ensure, verify

BODY = b"the bytes of a dataset file\n" * 1000


@pytest.fixture
def server():
    with serve() as s:
        yield s


@pytest.fixture(autouse=True)
def no_retries(monkeypatch):
    monkeypatch.setattr(download_module, "RETRIES", 0)


def remote(*urls: str, body: bytes = BODY, name: str = "file.bin") -> RemoteFile:
    return RemoteFile(name, urls, sha256(body), len(body))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_then_no_second_download(server, tmp_path):
    url = server.add("/file.bin", BODY)
    target = tmp_path / "file.bin"
    assert download_file(remote(url), target) == target
    assert target.read_bytes() == BODY
    download_file(remote(url), target)
    assert server.hits["/file.bin"] == 1


def test_falls_back_to_the_next_url_when_one_is_missing(server, tmp_path):
    good = server.add("/good/file.bin", BODY)
    target = tmp_path / "file.bin"
    download_file(remote(server.url("/gone/file.bin"), good), target)
    assert target.read_bytes() == BODY
    assert server.hits["/gone/file.bin"] == 1


def test_wrong_hash_is_removed_and_the_next_mirror_used(server, tmp_path):
    bad = server.add("/bad/file.bin", b"something else")
    good = server.add("/good/file.bin", BODY)
    target = tmp_path / "file.bin"
    download_file(remote(bad, good), target)
    assert target.read_bytes() == BODY
    assert leftovers(tmp_path) == ["file.bin"]


def test_wrong_hash_everywhere_is_an_error_and_leaves_nothing(server, tmp_path):
    bad = server.add("/bad/file.bin", b"something else")
    with pytest.raises(DownloadError, match="hash"):
        download_file(remote(bad), tmp_path / "file.bin")
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_leaves_no_partial_file(server, tmp_path):
    cut = server.add("/cut/file.bin", BODY, mode="truncate")
    with pytest.raises(DownloadError) as err:
        download_file(remote(cut), tmp_path / "file.bin")
    assert cut in err.value.attempts[0]
    assert leftovers(tmp_path) == []


def test_a_retry_recovers_from_a_transient_failure(server, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "RETRIES", 1)
    url = server.add("/flaky/file.bin", BODY, mode="flaky")
    download_file(remote(url), tmp_path / "file.bin")
    assert (tmp_path / "file.bin").read_bytes() == BODY
    assert server.hits["/flaky/file.bin"] == 2


def test_existing_copy_with_wrong_hash_is_replaced(server, tmp_path):
    url = server.add("/file.bin", BODY)
    target = tmp_path / "file.bin"
    target.write_bytes(b"stale")
    download_file(remote(url), target)
    assert target.read_bytes() == BODY


def test_offline_error_names_dataset_urls_and_layout(server, tmp_path):
    urls = (server.url("/a/cifar-10-python.tar.gz"), server.url("/b/cifar-10-python.tar.gz"))
    spec = dataclasses.replace(cifar10.SPEC, remote=(remote(*urls, name=cifar10.ARCHIVE),))
    with pytest.raises(DatasetError) as err:
        ensure(spec, tmp_path)
    message = str(err.value)
    for expected in (
        "CIFAR-10",
        *urls,
        "cifar-10-batches-py/data_batch_1",
        "cifar-10-batches-py/batches.meta",
        str(tmp_path),
        "DLCOURSE_DATA",
        "dlcourse data fetch cifar10",
    ):
        assert expected in message
    assert leftovers(tmp_path) == []  # not even an empty downloads folder


def test_unknown_dataset_name_lists_the_known_ones(tmp_path):
    with pytest.raises(DatasetError, match="fashion_mnist, cifar10, imdb, isbi2012"):
        fetch("mnist", root=tmp_path)


def test_cifar_archive_is_downloaded_extracted_and_loaded(server, tmp_path, monkeypatch):
    archive = folder_tar(write_cifar(tmp_path / "src", per_batch=20), "cifar-10-batches-py")
    url = server.add("/cifar-10-python.tar.gz", archive)
    spec = dataclasses.replace(
        cifar10.SPEC, remote=(remote(url, body=archive, name=cifar10.ARCHIVE),)
    )
    monkeypatch.setattr(cifar10, "SPEC", spec)
    root = tmp_path / "data"
    data = load_cifar10(root=root)
    assert tuple(data.x_train.shape) == (100, 3, 32, 32)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py", "downloads"]
    load_cifar10(root=root)
    assert server.hits["/cifar-10-python.tar.gz"] == 1
    assert verify(spec, root) == [(downloads_dir(spec, root) / cifar10.ARCHIVE, "ok")]
    (downloads_dir(spec, root) / cifar10.ARCHIVE).write_bytes(archive[:-10])
    assert verify(spec, root)[0][1] == "hash mismatch"


def test_fashion_mnist_is_downloaded_and_gunzipped(server, tmp_path, monkeypatch):
    gz = {f"{name}.gz": gzip.compress(data) for name, data in fashion_files().items()}
    files = tuple(
        RemoteFile(
            name,
            (server.add(f"/fm/{name}", data),),
            "md5:" + hashlib.md5(data).hexdigest(),
            len(data),
        )
        for name, data in gz.items()
    )
    spec = dataclasses.replace(fashion_mnist.SPEC, remote=files)
    monkeypatch.setattr(fashion_mnist, "SPEC", spec)
    data = load_fashion_mnist(root=tmp_path)
    assert tuple(data.x_train.shape) == (12, 1, 28, 28)
    raw = tmp_path / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(fashion_files())


def test_isbi_pngs_are_downloaded_into_the_layout(server, tmp_path, monkeypatch):
    files = tuple(
        remote(server.add(f"/unet/{name}", data), body=data, name=name)
        for name, data in isbi_files().items()
    )
    monkeypatch.setattr(isbi2012, "SPEC", dataclasses.replace(isbi2012.SPEC, remote=files))
    data = load_isbi2012(root=tmp_path)
    assert tuple(data.images.shape) == (30, 1, 8, 8)
    assert len(list((tmp_path / "isbi2012" / "train" / "label").glob("*.png"))) == 30
