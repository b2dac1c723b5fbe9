"""Configuration from the environment: mode, data directory, device, seeding."""

from __future__ import annotations

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
