"""Configuration from the environment: mode, data directory, device, seeding."""

from __future__ import annotations

import os

import pytest
import torch

from dlcourse import config


def test_quick_mode_from_environment(monkeypatch):
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    assert config.is_quick() and config.pick(quick=1, full=20) == 1
    monkeypatch.setenv("DLCOURSE_QUICK", "0")
    assert not config.is_quick() and config.pick(quick=1, full=20) == 20
    monkeypatch.delenv("DLCOURSE_QUICK")
    assert not config.is_quick()


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "d"))
    assert config.data_dir() == tmp_path / "d" and (tmp_path / "d").is_dir()
    monkeypatch.delenv("DLCOURSE_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / ".cache" / "dlcourse"


def test_device_override(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    assert config.get_device() == torch.device("cpu")
    monkeypatch.setenv("DLCOURSE_DEVICE", "not-a-device")
    with pytest.raises(ValueError, match="not a device name"):
        config.get_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("DLCOURSE_DEVICE", "cuda")
        with pytest.raises(ValueError, match="does not have"):
            config.get_device()


def test_default_device_prefers_cuda(monkeypatch):
    monkeypatch.delenv("DLCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.get_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(config, "_mps_available", lambda: False)
    assert config.get_device() == torch.device("cpu")


def test_seeding_repeats_random_draws():
    config.seed_everything(7)
    a = torch.rand(3)
    config.seed_everything(7)
    assert torch.equal(a, torch.rand(3))


def test_setup_prints_environment(capsys, monkeypatch):
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    device = config.setup(seed=3)
    out = capsys.readouterr().out
    assert device == torch.device("cpu")
    assert f"torch {torch.__version__}" in out and "quick" in out and "seed 3" in out


def test_progress_is_quiet_under_the_runner(monkeypatch):
    monkeypatch.delenv("DLCOURSE_PROGRESS", raising=False)
    monkeypatch.setenv("DLCOURSE_RECORD_FILE", "/tmp/x")
    assert not config.show_progress()
    monkeypatch.setenv("DLCOURSE_PROGRESS", "1")
    assert config.show_progress()


@pytest.mark.parametrize(
    ("value", "quick"),
    [("1", True), ("true", True), ("Yes", True), (" ON ", True),
     ("0", False), ("false", False), ("NO", False), ("off", False), ("", False)],
)  # fmt: skip
def test_quick_mode_accepts_the_documented_words(monkeypatch, value, quick):
    monkeypatch.setenv("DLCOURSE_QUICK", value)
    assert config.is_quick() is quick


@pytest.mark.parametrize("value", ["2", "quick", "full", "maybe", "tru"])
def test_quick_mode_rejects_other_values_clearly(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_QUICK", value)
    with pytest.raises(
        config.SettingError, match=rf"DLCOURSE_QUICK='{value}' .*1, true, yes or on"
    ):
        config.is_quick()


def test_relative_data_dir_is_resolved_once_to_an_absolute_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLCOURSE_DATA", "rel/data")
    assert config.data_root() == tmp_path / "rel" / "data"
    assert os.environ["DLCOURSE_DATA"] == str(tmp_path / "rel" / "data")  # kernels inherit it
    monkeypatch.chdir(tmp_path / "..")  # a later read elsewhere means the same folder
    assert config.data_dir() == tmp_path / "rel" / "data"
    assert (tmp_path / "rel" / "data").is_dir()


def test_data_root_creates_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "d"))
    assert config.data_root() == tmp_path / "d"
    assert not (tmp_path / "d").exists()


def test_data_dir_naming_a_file_is_a_clear_error(monkeypatch, tmp_path):
    (tmp_path / "f").write_text("not a folder")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "f"))
    for read in (config.data_root, config.data_dir):
        with pytest.raises(config.SettingError, match="DLCOURSE_DATA=.* is a file, not a folder"):
            read()


def test_data_dir_that_cannot_be_created_names_the_setting(monkeypatch, tmp_path):
    (tmp_path / "f").write_text("a file where a folder should be")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "f" / "data"))
    with pytest.raises(config.SettingError, match="cannot be created .* Set DLCOURSE_DATA"):
        config.data_dir()
