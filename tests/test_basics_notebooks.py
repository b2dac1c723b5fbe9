"""01_Basics, second edition: the pattern the other notebooks follow, checked on the stored files.

Install cell for hosted notebooks first, "From Keras" tables with a PyTorch column and a
``dlcourse`` column, no hard-coded Keras timing, and README links for every notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASICS = sorted((ROOT / "PyTorch" / "01_Basics").glob("*.ipynb"))
IDS = [path.stem for path in BASICS]
EVERY = sorted((ROOT / "PyTorch").glob("*/*.ipynb"))
EVERY_IDS = [path.relative_to(ROOT / "PyTorch").with_suffix("").as_posix() for path in EVERY]


def cells(path: Path, kind: str) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == kind]


@pytest.mark.parametrize("path", EVERY, ids=EVERY_IDS)
def test_first_code_cell_installs_the_course_only_when_missing(path):
    first = cells(path, "code")[0]
    assert re.search(r'^DLCOURSE_REPO = "https://github\.com/YOUR-ACCOUNT/dlcourse"', first, re.M)
    assert "try:\n    import dlcourse" in first
    assert "except ImportError:" in first
    assert '%pip install --quiet "dlcourse @ git+{DLCOURSE_REPO}"' in first


@pytest.mark.parametrize("path", EVERY, ids=EVERY_IDS)
def test_from_keras_table_has_pytorch_and_dlcourse_columns(path):
    table = next(md for md in cells(path, "markdown") if md.startswith("### From Keras"))
    header = next(line for line in table.splitlines() if line.startswith("| Keras"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert len(columns) == 3 and columns[1].startswith("PyTorch") and "dlcourse" in columns[2]
    for row in table.splitlines():
        if row.startswith("| `"):
            assert len(row.strip().strip("|").split(" | ")) == 3, row


@pytest.mark.parametrize("path", EVERY, ids=EVERY_IDS)
def test_seed_means_a_random_seed_only(path):
    text = "\n".join(cells(path, "markdown") + cells(path, "code"))
    for wrong in ("seed's network", "seed recipe", "SEED_RECIPE", "the seed's"):
        assert wrong not in text


def test_notebook_00_states_no_keras_timing_from_another_machine():
    text = "\n".join(cells(ROOT / "PyTorch/01_Basics/00_fashion_mnist_basic_cnn.ipynb", "code"))
    assert "KERAS_TF_SECONDS" not in text


@pytest.mark.parametrize("path", EVERY, ids=EVERY_IDS)
def test_readme_links_colab_and_the_rendered_run(path):
    readme = (ROOT / "README.md").read_text()
    rel = path.relative_to(ROOT).as_posix()
    colab = f"https://colab.research.google.com/github/YOUR-ACCOUNT/dlcourse/blob/main/{rel}"
    assert colab in readme
    page = path.relative_to(ROOT / "PyTorch").with_suffix(".html").as_posix()
    assert f"https://YOUR-ACCOUNT.github.io/dlcourse/{page}" in readme
    assert "DLCOURSE_REPO" in readme


def test_make_full_runs_the_course_and_make_site_publishes_an_existing_run():
    makefile = (ROOT / "Makefile").read_text()
    full = makefile.split("\nfull:", 1)[1].split("\n\n", 1)[0]
    assert "dlcourse run --all --full --out build/full" in full
    assert "RUN ?= build/full" in makefile and "SITE ?= build/site" in makefile
    site = makefile.split("\nsite:", 1)[1].split("\n\n", 1)[0]
    assert "dlcourse site --run $(RUN) --out $(SITE)" in site and "dlcourse run" not in site
    readme = (ROOT / "README.md").read_text()
    assert "make site" in readme and "GitHub Pages" in readme


def code_before(path: Path, marker: str) -> str:
    """The code of every cell before the first one that contains ``marker``."""
    code = cells(path, "code")
    first = next(i for i, source in enumerate(code) if marker in source)
    return "\n".join(code[:first])


def test_notebook_00_updates_weights_by_hand_before_any_optimizer():
    path = ROOT / "PyTorch/01_Basics/00_fashion_mnist_basic_cnn.ipynb"
    before = code_before(path, "torch.optim.")
    assert "p -= lr * p.grad" in before and "p.grad = None" in before
    assert "torch.optim.SGD" in "\n".join(cells(path, "code"))


def test_notebook_00_scales_with_the_training_rows_only():
    path = ROOT / "PyTorch/01_Basics/00_fashion_mnist_basic_cnn.ipynb"
    scaling = next(c for c in cells(path, "code") if "mean, std =" in c)
    assert "x_train_raw[:-n_val]" in scaling.split("mean, std =")[0]


def test_notebook_00_keeps_the_defaults_reference_in_an_appendix_at_the_end():
    path = ROOT / "PyTorch/01_Basics/00_fashion_mnist_basic_cnn.ipynb"
    headings = [m for m in cells(path, "markdown") if m.startswith("## ")]
    assert headings[-1].startswith("## Appendix: Keras vs PyTorch defaults")


def test_notebook_02_writes_its_loop_and_keeps_recipes_plain():
    path = ROOT / "PyTorch/01_Basics/02_boston_house_price_regression.ipynb"
    code = "\n".join(cells(path, "code"))
    assert "loss.backward()" in code and "optimizer.step()" in code
    for heavy in ("@dataclass", "class PriceModel", "dlcourse.train"):
        assert heavy not in code


def test_notebook_02_scores_both_recipes_on_the_same_rows_and_networks():
    path = ROOT / "PyTorch/01_Basics/02_boston_house_price_regression.ipynb"
    code = "\n".join(cells(path, "code"))
    assert 'for name in ("baseline", "changed")' in code
    assert "baseline_ensemble_test_mae" in code


def test_notebook_01_reproduces_keras_adam_exactly_and_compares_with_keras_runs():
    path = ROOT / "PyTorch/01_Basics/01_learn_sine_regression.ipynb"
    code = "\n".join(cells(path, "code"))
    assert "KerasAdam(keras_model.parameters()" in code
    assert 'keras_run("sine_original")' in code
    text = "\n".join(cells(path, "markdown"))
    assert "143 periods" not in text and "only approximately" not in text
