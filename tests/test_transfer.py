"""dlcourse.transfer: nested subsets, freezing, batch norm kept in eval mode, feature cache."""

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


def test_frozen_batch_norm_stays_in_eval_mode():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)
    )
    transfer.freeze(net[:2])
    model = transfer.KeepFrozenBatchNormEval(net).train()
    assert not net[1].training and net[3].training
    assert transfer.parameter_count(net, trainable_only=True) == 4 * 4 + 4 + 8
    before = net[1].running_mean.clone()
    model(torch.randn(2, 3, 8, 8))
    assert torch.equal(net[1].running_mean, before)


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
