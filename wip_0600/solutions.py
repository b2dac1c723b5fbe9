"""Run 06/00 in quick mode followed by its exercise solutions (as tests/test_exercise_solutions.py does)."""
import sys
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, "/work/main/tests")
from test_exercise_solutions import solution_blocks  # noqa: E402

from dlcourse.runner.execute import execute_notebook  # noqa: E402

rel = "/work/main/PyTorch/06_Image_Segmentation/00_cell_tissue_segmentation.ipynb"
nb = nbformat.read(rel, as_version=4)
blocks = solution_blocks(nb)
nb.cells += [nbformat.v4.new_code_cell(b) for b in blocks]
path = Path(tempfile.mkdtemp()) / "nb.ipynb"
nbformat.write(nb, path)
run = execute_notebook(path, quick=True, timeout=600)
print(f"{len(blocks)} solution blocks; error: {run.error}")
sys.exit(0 if run.error is None else 1)
