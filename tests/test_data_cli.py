"""``dlcourse data list | fetch | verify``."""

from __future__ import annotations

import dataclasses
import os

import pytest
from data_fixtures import block_network, sha256, write_fashion

import dlcourse.data.download as download_module
from dlcourse.cli import main
from dlcourse.data import DATASETS, RemoteFile


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(download_module, "RETRIES", 0)
    block_network(monkeypatch, strict=False)
    return tmp_path


def test_list_shows_each_dataset_and_whether_it_is_present(data_dir, capsys):
    write_fashion(data_dir)
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"present: {data_dir / 'FashionMNIST' / 'raw'}" in out
    assert f"missing: {data_dir / 'cifar-10-batches-py'}" in out
    assert "170.5 MB" in out and "MIT" in out
    for name in DATASETS:
        assert name in out


def test_fetch_prints_the_folder_of_a_present_dataset(data_dir, capsys):
    write_fashion(data_dir)
    assert main(["data", "fetch", "fashion_mnist", "boston_housing"]) == 0
    out = capsys.readouterr().out
    assert f"fashion_mnist: {data_dir / 'FashionMNIST' / 'raw'}" in out
    assert "boston_housing: " in out


def test_fetch_offline_fails_with_instructions(data_dir, capsys):
    assert main(["data", "fetch", "imdb"]) == 1
    err = capsys.readouterr().err
    assert "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz" in err
    assert "aclImdb/train/pos/*.txt" in err and "DLCOURSE_DATA" in err


def test_fetch_unknown_name_lists_known_names(data_dir, capsys):
    assert main(["data", "fetch", "mnist"]) == 1
    assert "Known datasets: fashion_mnist, cifar10" in capsys.readouterr().err


def test_fetch_needs_names_or_all(data_dir, capsys):
    assert main(["data", "fetch"]) == 2
    assert main(["data", "fetch", "imdb", "--all"]) == 2


def test_verify_rechecks_downloaded_files(data_dir, monkeypatch, capsys):
    good, bad = b"archive", b"damaged"
    spec = dataclasses.replace(
        DATASETS["cifar10"],
        remote=(RemoteFile("a.tar.gz", ("http://x/a",), sha256(good), 7),
                RemoteFile("b.tar.gz", ("http://x/b",), sha256(good), 7)),
    )  # fmt: skip
    monkeypatch.setitem(DATASETS, "cifar10", spec)
    downloads = data_dir / "downloads" / "cifar10"
    downloads.mkdir(parents=True)
    (downloads / "a.tar.gz").write_bytes(good)
    assert main(["data", "verify", "cifar10"]) == 0
    assert "cifar10: 1 ok, 0 hash mismatch, 1 not downloaded" in capsys.readouterr().out
    (downloads / "b.tar.gz").write_bytes(bad)
    assert main(["data", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"{downloads / 'b.tar.gz'}: wrong hash" in out
    assert "imdb: no downloaded files to check" in out


def test_list_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "not-yet"))
    assert main(["data", "list"]) == 0
    assert f"missing: {tmp_path / 'not-yet' / 'aclImdb'}" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["list"], ["fetch", "imdb"], ["verify"]])
def test_data_dir_naming_a_file_is_one_clear_error(tmp_path, monkeypatch, capsys, command):
    (tmp_path / "data").write_text("a file")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    assert main(["data", *command]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlcourse data: error: DLCOURSE_DATA=")
    assert "is a file, not a folder" in err and "Traceback" not in err


def test_relative_data_dir_means_one_absolute_folder(tmp_path, monkeypatch, capsys):
    write_fashion(tmp_path / "rel")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLCOURSE_DATA", "rel")
    assert main(["data", "fetch", "fashion_mnist"]) == 0
    assert f"fashion_mnist: {tmp_path / 'rel' / 'FashionMNIST' / 'raw'}" in capsys.readouterr().out


def test_fetch_into_a_data_dir_that_cannot_be_written_blames_the_folder(data_dir, capsys):
    (data_dir / "downloads").write_text("a file where the downloads folder should be")
    assert main(["data", "fetch", "imdb"]) == 1
    err = capsys.readouterr().err
    assert f"Cannot write to the data directory {data_dir}" in err
    assert "DLCOURSE_DATA" in err and "network" not in err


@pytest.mark.skipif(getattr(os, "geteuid", lambda: -1)() == 0, reason="root ignores permissions")
def test_fetch_into_a_read_only_data_dir_blames_the_folder(data_dir, capsys):
    data_dir.chmod(0o555)
    try:
        assert main(["data", "fetch", "imdb"]) == 1
    finally:
        data_dir.chmod(0o755)
    err = capsys.readouterr().err
    assert "Cannot write to the data directory" in err and "network" not in err
