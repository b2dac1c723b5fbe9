"""Notebook 05/00 writes the freezing (``requires_grad_(False)`` and batch norm in eval mode),
the fine-tuning model, the validation split and the per-epoch validation score in its cells;
these tests run the cells' definitions, and check that metric names say their split."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import torch
from test_notebook_code import code_cells, definition
from torch import nn

from dlcourse import transfer
from dlcourse.train import predict

TRANSFER_05_00 = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/05_Transfer_Learning/00_imagenet_transfer_learning.ipynb"
)


def cell_namespace(*names: str) -> dict:
    """The notebook's definitions of ``names``, executed with what they use."""
    namespace = {
        "copy": copy,
        "torch": torch,
        "nn": nn,
        "predict": predict,
        "nested_subsets": transfer.nested_subsets,
    }
    for name in names:
        exec(definition(TRANSFER_05_00, name), namespace)
    return namespace


def test_freeze_and_fine_tuned_keep_the_front_fixed_in_train_mode():
    ns = cell_namespace("freeze", "FineTuned")
    torch.manual_seed(0)
    front = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    tail = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1))
    head = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    ns["freeze"](front)
    model = ns["FineTuned"](front, tail, head).train()
    assert not front[1].training and tail[1].training and model.training
    assert not any(p.requires_grad for p in front.parameters())
    assert all(p.requires_grad for p in tail.parameters())
    before = front[1].running_mean.clone()
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    assert torch.equal(front[1].running_mean, before)
    assert all(p.grad is None for p in front.parameters())


def test_requires_grad_alone_leaves_batch_norm_updating_its_statistics():
    bn = nn.BatchNorm2d(3)
    bn.requires_grad_(False)
    before = bn.running_mean.clone()
    bn.train()(torch.randn(4, 3, 5, 5) + 1)
    assert not torch.equal(bn.running_mean, before)  # why freeze() also calls eval()


def test_validation_split_is_balanced_disjoint_from_training_and_fixed():
    ns = cell_namespace("validation_split")
    labels = torch.tensor([0, 1] * 500)
    train = transfer.nested_subsets(labels, [100, 400], seed=0)[400]
    val = ns["validation_split"](labels, train, 200)
    assert len(val) == 200 and len(set(val.tolist())) == 200
    assert not torch.isin(val, train).any()
    assert int(labels[val].sum()) == 100
    assert torch.equal(val, ns["validation_split"](labels, train, 200))


def test_epoch_accuracy_keeps_the_weights_of_the_best_epoch():
    ns = cell_namespace("accuracy", "EpochAccuracy")
    x, y = torch.tensor([[1.0], [-1.0], [2.0]]), torch.tensor([1.0, 0.0, 1.0])
    scores = ns["EpochAccuracy"](x, y)
    net = nn.Sequential(nn.Linear(1, 1), nn.Flatten(0))
    for epoch, weight in enumerate([-1.0, 1.0, -1.0]):
        with torch.no_grad():
            net[0].weight.fill_(weight)
            net[0].bias.zero_()
        assert scores.on_epoch_end(epoch, {}, net) is False
    assert scores.scores == [0.0, 1.0, 0.0] and scores.best_epoch == 2
    assert scores.best_state["0.weight"].item() == 1.0


def test_metric_names_say_the_split_they_were_computed_on():
    record_calls = [
        node
        for source in code_cells(TRANSFER_05_00)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record"
    ]
    assert len(record_calls) == 1
    keywords = {k.arg: ast.unparse(k.value) for k in record_calls[0].keywords}
    assert {"frozen_test_accuracy", "finetune_test_accuracy", "pretrained_test_accuracy"} <= set(
        keywords
    )
    for name, value in keywords.items():
        if name.endswith("_val_accuracy"):
            assert "val_acc" in value, (name, value)
        if name.endswith("_test_accuracy"):
            assert "test_acc" in value, (name, value)


def test_the_library_no_longer_hides_the_freezing():
    assert not hasattr(transfer, "freeze") and not hasattr(transfer, "KeepFrozenBatchNormEval")
