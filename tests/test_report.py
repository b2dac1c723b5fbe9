"""Metric recording and the course catalogue's targets."""

from __future__ import annotations

import json

import pytest
import torch

from dlcourse.course import COURSE, Target, find
from dlcourse.report import record


def test_record_prints_outside_the_runner(capsys, monkeypatch):
    monkeypatch.delenv("DLCOURSE_RECORD_FILE", raising=False)
    record(accuracy=0.5, epochs=3)
    out = capsys.readouterr().out
    assert "accuracy = 0.5" in out and "epochs = 3" in out


def test_record_appends_json_lines_for_the_runner(tmp_path, monkeypatch):
    target = tmp_path / "records.jsonl"
    monkeypatch.setenv("DLCOURSE_RECORD_FILE", str(target))
    record(loss=torch.tensor(0.25))
    record(loss=0.125, note="second")
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [{"loss": 0.25}, {"loss": 0.125, "note": "second"}]


def test_record_rejects_values_that_are_not_numbers():
    with pytest.raises(TypeError, match="'model' must be a number"):
        record(model=object())


def test_targets_parse_and_judge():
    assert Target.parse(">= 0.88").check(0.9, {}) is True
    assert Target.parse("<= 2.5").check(2.6, {}) is False
    relative = Target.parse("< baseline")
    assert relative.check(2.0, {"baseline": 2.5}) is True
    assert relative.check(2.0, {}) is None
    assert str(relative) == "< baseline" and str(Target.parse("<= 0.001")) == "<= 0.001"
    with pytest.raises(ValueError, match="must look like"):
        Target.parse("about 3")


def test_catalogue_finds_notebooks_and_splits_combined_targets():
    boston = find("/somewhere/PyTorch/01_Basics/02_boston_house_price_regression.ipynb")
    assert boston is not None
    goals = boston.parsed_targets()["test_mae"]
    assert [str(g) for g in goals] == ["<= 2.5", "< linear_baseline_test_mae"]
    assert find("PyTorch/unknown.ipynb") is None
    assert len({nb.path for nb in COURSE}) == len(COURSE)
