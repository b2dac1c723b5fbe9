"""dlcourse.transfer: nested subsets, fixed-step training, the feature cache. (Freezing and
batch norm kept in eval mode are written in notebook 05/00: tests/test_cells_05_00.py.)"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse import transfer


def test_nested_balanced_subsets():
    labels = torch.tensor([0, 1] * 50)
    subsets = transfer.nested_subsets(labels, [10, 40], seed=0)
    assert set(subsets[10].tolist()) <= set(subsets[40].tolist())
    assert labels[subsets[40]].sum() == 20
    with pytest.raises(ValueError, match="balanced subset of 200"):
        transfer.nested_subsets(labels, [200])


def test_train_for_steps_takes_exactly_the_steps_asked_for():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(1))
    x, y = torch.randn(10, 3, 8, 8), torch.tensor([0, 1] * 5)
    net(x[:2])  # materialise the lazy layer
    steps = []
    net.register_forward_hook(lambda *_: steps.append(1))
    out = transfer.train_for_steps(net, x, y, steps=7, batch_size=4)
    assert out is net and not net.training
    assert len(steps) == 7  # 7 batches of 4 from 10 images: passes wrap around


def test_features_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    images = torch.randint(0, 255, (6, 3, 8, 8), dtype=torch.uint8)
    calls, conv = [], nn.Conv2d(3, 2, 8)

    def compute(x):
        calls.append(len(x))
        return transfer.extract(conv, x, lambda b: b.float() / 255, batch_size=4)

    first = transfer.cached_features("conv", images, compute)
    second = transfer.cached_features("conv", images, compute)
    assert calls == [6] and first.shape == (6, 2, 1, 1) and torch.equal(first, second)
    transfer.cache_path("conv", images).write_bytes(b"garbage")
    assert torch.equal(transfer.cached_features("conv", images, compute), first)
    assert calls == [6, 6]
