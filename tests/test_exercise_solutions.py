"""Exercise solutions run: each notebook below, in quick mode, followed by its solutions' code.

A notebook's exercises end with ``<details> ... </details>``; every ```` ```python ```` block in
it (indented in a list or not) is appended as a code cell, in order, after the notebook's own
cells, and the whole runs in one kernel. A solution that no longer runs fails here.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from dlcourse.runner.execute import execute_notebook

COURSE = Path(__file__).resolve().parents[1] / "PyTorch"
SOLVED = [
    "01_Basics/00_fashion_mnist_basic_cnn.ipynb",
    "01_Basics/01_learn_sine_regression.ipynb",
    "01_Basics/02_boston_house_price_regression.ipynb",
    "03_Advanced_CNN/00_densenet_architecture.ipynb",
    "02_Image_Classification/00_cifar10_classification.ipynb",
    "04_Regularization/00_cifar10_regularization.ipynb",
    "04_Regularization/01_imdb_overfit_underfit.ipynb",
    "05_Transfer_Learning/00_imagenet_transfer_learning.ipynb",
    "06_Image_Segmentation/00_cell_tissue_segmentation.ipynb",
    "06_Image_Segmentation/01_mitosis_detection_brightfield.ipynb",
    "06_Image_Segmentation/02_mitosis_detection_phase_contrast.ipynb",
    "06_Image_Segmentation/03_mitosis_xenopus_detection.ipynb",
    "07_Time_Series/00_time_series_training.ipynb",
    "07_Time_Series/01_time_series_prediction.ipynb",
]


def solution_blocks(nb: nbformat.NotebookNode) -> list[str]:
    """The Python blocks inside the notebook's ``<details>`` (its exercise solutions), in order."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    details = "\n".join(re.findall(r"<details>(.*?)</details>", text, flags=re.S))
    blocks = re.findall(r"```python\n(.*?)\n *```", details, flags=re.S)
    return [textwrap.dedent(block).rstrip() for block in blocks]


@pytest.mark.parametrize("rel", SOLVED)
def test_every_exercise_has_solution_code(rel):
    nb = nbformat.read(COURSE / rel, as_version=4)
    blocks = solution_blocks(nb)
    assert len(blocks) >= 2, f"{rel}: its solutions should show runnable code"
    for block in blocks:
        ast.parse(block)


def test_solution_blocks_are_found_in_order():
    nb = nbformat.v4.new_notebook()
    text = "1. a\n```python\nx = 1\n```\n2. b\n   ```python\n   y = x + 1\n   ```\n</details>"
    nb.cells = [nbformat.v4.new_markdown_cell("<details>\n" + text)]
    assert solution_blocks(nb) == ["x = 1", "y = x + 1"]


@pytest.mark.notebooks
@pytest.mark.parametrize("rel", SOLVED)
def test_solutions_run_after_the_notebook(rel, tmp_path):
    nb = nbformat.read(COURSE / rel, as_version=4)
    blocks = solution_blocks(nb)
    nb.cells += [nbformat.v4.new_code_cell(block) for block in blocks]
    path = tmp_path / Path(rel).name
    nbformat.write(nb, path)
    run = execute_notebook(path, quick=True, timeout=600)
    assert run.error is None, f"{rel} with its {len(blocks)} solution blocks: {run.error}"
