"""Every loader of a ``.pt`` file someone might hand over refuses a pickle that runs code.

``torch.load(..., weights_only=True)`` unpickles tensors and plain containers only. Each test
writes a file whose pickle would create a marker folder when unpickled by the full unpickler,
hands it to one loader, and checks that the loader refuses it and that the marker never appears.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import dlcourse.transfer
from dlcourse.data.text import Vocab
from dlcourse.models import efficientnet_lite
from dlcourse.serve import ModelFolderError, load_model_folder, save_model_folder
from dlcourse.text_models import AvgPoolClassifier
from dlcourse.timeseries.training import load_response_model
from dlcourse.train.checkpoint import load_model, safe_load

ROOT = Path(__file__).resolve().parents[1]


class Payload:
    """Unpickled by the full unpickler, it calls ``os.makedirs(marker)``: code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A ``.pt`` file holding a payload beside tensors, and the marker it would create."""
    marker = tmp_path / "payload-ran"
    path = tmp_path / "hostile.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "metadata": Payload(marker)}, path)
    return path, marker


def test_the_payload_runs_code_when_weights_only_is_false(hostile):
    path, marker = hostile
    torch.load(path, weights_only=False)  # the loader none of dlcourse's functions uses
    assert marker.is_dir()


def test_checkpoint_loaders_refuse_the_payload(hostile):
    path, marker = hostile
    for load in (safe_load, lambda p: load_model(p, nn.Linear(2, 1)), load_response_model):
        with pytest.raises(ValueError, match="not a readable checkpoint"):
            load(path)
    assert not marker.exists()


def test_model_folder_refuses_weights_with_a_payload(tmp_path):
    marker = tmp_path / "payload-ran"
    model = AvgPoolClassifier(4, dim=2, hidden=2)
    folder = save_model_folder(
        tmp_path / "m",
        model,
        Vocab(["<pad>", "<unk>", "good", "bad"]),
        architecture="avgpool",
        model_config={"num_words": 4, "dim": 2, "hidden": 2, "masked": True},
        maxlen=8,
        classes=["negative", "positive"],
    )
    state = dict(model.state_dict()) | {"extra": Payload(marker)}
    torch.save(state, Path(folder) / "weights.pt")
    with pytest.raises(ModelFolderError, match="weights.pt is damaged"):
        load_model_folder(folder)
    assert not marker.exists()


def test_feature_cache_with_a_payload_is_recomputed_not_run(hostile, monkeypatch):
    path, marker = hostile
    monkeypatch.setattr(dlcourse.transfer, "cache_path", lambda name, images: path)
    features = dlcourse.transfer.cached_features("x", torch.zeros(1), lambda x: x + 1)
    assert features.tolist() == [1.0] and not marker.exists()


def test_packaged_imagenet_weights_with_a_payload_are_refused(hostile, monkeypatch):
    path, marker = hostile
    monkeypatch.setattr(efficientnet_lite, "weights_path", lambda: path)
    with pytest.raises(RuntimeError, match="cannot read the EfficientNet-Lite0 weights"):
        efficientnet_lite.efficientnet_lite0(pretrained=True)
    assert not marker.exists()


def test_every_torch_load_in_the_library_and_notebooks_passes_weights_only_true():
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "PyTorch").rglob("*.ipynb")]
    calls = [
        (file.name, call)
        for file in files
        for call in re.findall(r"torch\.load\([^\n]*", file.read_text(encoding="utf-8"))
    ]
    assert len(calls) >= 6
    for name, call in calls:
        assert "weights_only=True" in call, (name, call)
