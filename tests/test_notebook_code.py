"""Code the notebooks write in their cells: library copies kept equal, and the grouped folds of
07/00's ridge. (Exercise solutions: tests/test_exercise_solutions.py.)"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from dlcourse.timeseries import metrics, models, training

COURSE = Path(__file__).resolve().parents[1] / "PyTorch"
TIME_SERIES_00 = COURSE / "07_Time_Series/00_time_series_training.ipynb"


def code_cells(path: Path) -> list[str]:
    """The source of every code cell but those with IPython magics (the install cell)."""
    nb = nbformat.read(path, as_version=4)
    return [
        cell.source
        for cell in nb.cells
        if cell.cell_type == "code" and not re.search(r"^\s*%", cell.source, flags=re.M)
    ]


def definition(path: Path, name: str) -> str:
    """The source of the top-level function or class ``name`` defined in a code cell."""
    for source in code_cells(path):
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
                return ast.get_source_segment(source, node)
    raise AssertionError(f"{path.name} defines no {name}")


@pytest.mark.parametrize(
    ("name", "library"),
    [
        ("WarmupMSE", metrics.WarmupMSE),
        ("SequenceRNN", models.SequenceRNN),
        ("train_rnn", training.train_rnn),
    ],
)
def test_library_copy_equals_the_cell_of_07_00(name, library):
    assert definition(TIME_SERIES_00, name) == inspect.getsource(library).rstrip("\n")


def test_07_00_defines_the_same_cell_types_as_the_library():
    cells = "\n".join(code_cells(TIME_SERIES_00))
    assert 'CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}' in cells
    assert models.CELLS == {"lstm": models.nn.LSTM, "gru": models.nn.GRU}


def test_grouped_folds_never_put_one_recording_on_both_sides():
    namespace = {"np": np, "GroupKFold": GroupKFold}
    exec(definition(TIME_SERIES_00, "recording_folds"), namespace)
    recording_folds = namespace["recording_folds"]
    lengths = [50, 23, 37, 20, 61, 44, 29]
    recs = [np.zeros(n) for n in lengths]
    owner = np.repeat(np.arange(len(lengths)), lengths)
    folds = recording_folds(recs, n_splits=3)
    assert len(folds) == 3
    checked = np.concatenate([check for _, check in folds])
    assert sorted(checked) == list(range(sum(lengths)))  # every row scored exactly once
    for fit_rows, check_rows in folds:
        assert not set(owner[fit_rows]) & set(owner[check_rows])
        assert len(fit_rows) + len(check_rows) == sum(lengths)
