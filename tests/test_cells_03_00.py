"""Notebook 03/00 writes the dense layer, the dense block, the transition and the fixed-step
training function in its cells; the library's copies (which build DenseNet-121 and serve
notebook 05/00) must stay equal to them."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from test_notebook_code import code_cells, definition

from dlcourse import transfer
from dlcourse.models import densenet

DENSENET_03_00 = (
    Path(__file__).resolve().parents[1] / "PyTorch/03_Advanced_CNN/00_densenet_architecture.ipynb"
)


@pytest.mark.parametrize(
    ("name", "library"),
    [
        ("DenseLayer", densenet.DenseLayer),
        ("DenseBlock", densenet.DenseBlock),
        ("Transition", densenet.Transition),
        ("train_for_steps", transfer.train_for_steps),
    ],
)
def test_library_copy_equals_the_cell_of_03_00(name, library):
    assert definition(DENSENET_03_00, name) == inspect.getsource(library).rstrip("\n")


def test_03_00_shows_no_library_source_instead_of_writing_it():
    cells = "\n".join(code_cells(DENSENET_03_00))
    assert "inspect.getsource" not in cells


def test_03_00_names_its_metrics_after_the_test_images():
    cells = "\n".join(code_cells(DENSENET_03_00))
    assert "pretrained_test_accuracy=" in cells and "scratch_test_accuracy=" in cells
    assert "_val_accuracy" not in cells
