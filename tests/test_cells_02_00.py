"""Notebook 02/00 writes its networks and its validation split in cells: the networks are the
library's copies (05/01 loads the saved model2 through ``dlcourse.models.cifar``), and the
validation split is stratified, seeded and drawn from the training images only."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from test_notebook_code import code_cells, definition
from torch import nn

import dlcourse
from dlcourse.data import ImageData
from dlcourse.models import cifar

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/02_Image_Classification/00_cifar10_classification.ipynb"
)
CLASSES = ["Model1", "conv_bn", "Residual", "Model2"]


@pytest.mark.parametrize("name", CLASSES)
def test_the_cell_is_the_library_copy(name):
    library = getattr(cifar, name)
    assert definition(NOTEBOOK, name) == inspect.getsource(library).rstrip("\n")


def notebook_classes() -> dict[str, object]:
    """The networks as the notebook's cells define them, executed on their own."""
    namespace: dict[str, object] = {"torch": torch, "nn": nn}
    for name in CLASSES:
        exec(definition(NOTEBOOK, name), namespace)
    return namespace


@pytest.mark.parametrize(("name", "kwargs"), [("Model1", {}), ("Model2", {"width": 32})])
def test_notebook_network_has_the_library_state_dict(name, kwargs):
    """Checkpoints saved from the notebook's class load into the library's and back."""
    cell = notebook_classes()[name](**kwargs).state_dict()
    library = getattr(cifar, name)(**kwargs).state_dict()
    assert [(k, tuple(v.shape)) for k, v in cell.items()] == [
        (k, tuple(v.shape)) for k, v in library.items()
    ]


def test_model1_keeps_the_keras_parameter_count():
    model = notebook_classes()["Model1"]()
    assert sum(p.numel() for p in model.parameters()) == 3_263_937


def split_cell() -> str:
    """The code cell that carves the validation split."""
    return next(source for source in code_cells(NOTEBOOK) if "train_test_split(" in source)


def test_validation_split_is_stratified_seeded_and_from_the_training_images(monkeypatch):
    """The cell, run on stand-in data (10,000 training and 2,000 test images with distinct
    pixel values), holds out 1,000 training images: half of each class, the same on every
    run, disjoint from the rest of the training images and none of them a test image."""
    monkeypatch.delenv("DLCOURSE_QUICK", raising=False)
    n_train, n_test = 10_000, 2_000
    ids = torch.arange(n_train + n_test)
    images = torch.zeros(n_train + n_test, 3, 32, 32, dtype=torch.int64)
    images[:, 0, 0, 0] = ids  # each image is recognisable by its first pixel
    labels = ids % 2
    data = ImageData(
        images[:n_train], labels[:n_train], images[n_train:], labels[n_train:], ["cat", "dog"]
    )

    def run() -> dict[str, object]:
        namespace = {
            "np": np, "torch": torch, "dlcourse": dlcourse,
            "train_test_split": train_test_split, "load_cat_vs_dog": lambda **_: data,
        }  # fmt: skip
        exec(split_cell(), namespace)
        return namespace

    first, second = run(), run()
    train_ids = set(first["x_train_raw"][:, 0, 0, 0].tolist())
    val_ids = set(first["x_val_raw"][:, 0, 0, 0].tolist())
    test_ids = set(first["x_test_raw"][:, 0, 0, 0].tolist())
    assert len(val_ids) == 1_000 and len(train_ids) == 9_000
    assert not train_ids & val_ids and not (train_ids | val_ids) & test_ids
    assert test_ids == set(range(n_train, n_train + n_test))
    assert np.bincount(first["y_val_int"].numpy()).tolist() == [500, 500]
    assert torch.equal(first["x_val_raw"], second["x_val_raw"])


def test_channel_statistics_come_from_the_training_part_only():
    source = next(s for s in code_cells(NOTEBOOK) if "def standardise" in s)
    assert "x01 = x_train_raw.float() / 255" in source


def test_recorded_metric_names_say_their_split():
    """``*_test_accuracy`` only for the test images, ``*_val_accuracy`` for the split."""
    source = next(s for s in code_cells(NOTEBOOK) if s.startswith("record("))
    call = ast.parse(source).body[0].value
    names = {k.arg: ast.unparse(k.value) for k in call.keywords}
    for name, expression in names.items():
        if name.endswith("_test_accuracy"):
            assert "test" in expression and "val" not in expression, name
        if name.endswith("_val_accuracy"):
            assert "test" not in expression, name
    assert {"best_test_accuracy", "best_val_accuracy", "model1_params"} <= set(names)
