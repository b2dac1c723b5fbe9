"""The course notebooks under ``PyTorch/``: stored clean, catalogued, and runnable in quick mode."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlcourse import course
from dlcourse.runner import run_notebooks
from dlcourse.runner.paths import course_notebooks, display_name

COURSE_DIR = Path(__file__).resolve().parents[1] / "PyTorch"
NOTEBOOKS = course_notebooks(COURSE_DIR) if COURSE_DIR.is_dir() else []
IDS = [nb.relative_to(COURSE_DIR).as_posix() for nb in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    dirty = [
        i + 1
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"cells {dirty} carry outputs or execution counts: clear them before saving"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_in_the_catalogue(path):
    assert course.find(path) is not None, (
        f"{display_name(path)} has no entry in dlcourse.course.COURSE (title, summary, targets)"
    )


def required_metrics(entry: course.Notebook) -> set[str]:
    """The metrics a notebook's targets name, compared ones (``< other_metric``) included."""
    names = set(entry.targets)
    for goals in entry.parsed_targets().values():
        names.update(goal.bound for goal in goals if isinstance(goal.bound, str))
    return names


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_quick_mode(path, course_run):
    (result,) = run_notebooks([path], quick=True, out=course_run, timeout=600)
    assert result.ok, f"{result.notebook} failed: {result.error}"
    entry = course.find(path)
    missing = required_metrics(entry) - set(result.metrics) if entry else set()
    assert not missing, f"{result.notebook} did not record {sorted(missing)}"
