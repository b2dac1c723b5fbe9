"""The service of ``08_NLP_Text/01`` is the one ``dlcourse serve`` runs.

The notebook writes ``validation_answer``, ``create_app`` and ``export_onnx`` in its cells;
``dlcourse.serve`` holds copies, and ``dlcourse serve`` builds its app with
``dlcourse.serve.app.create_app``. These tests keep the copies equal to the cells, and check
that the command serves the app that function builds.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import nbformat
import pytest
import torch

from dlcourse.cli import main
from dlcourse.data.text import Vocab
from dlcourse.serve import artifacts, save_model_folder
from dlcourse.text_models import build

pytest.importorskip("fastapi")
from dlcourse.serve import app as app_module  # noqa: E402
from dlcourse.serve import server  # noqa: E402

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "PyTorch/08_NLP_Text/01_text_classification_deployment.ipynb"
)
COPIES = {
    "validation_answer": app_module.validation_answer,
    "create_app": app_module.create_app,
    "export_onnx": artifacts.export_onnx,
}


def notebook_functions() -> dict[str, str]:
    """Source of every function defined at the top level of the notebook's code cells."""
    found = {}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code" or "%pip" in cell.source:
            continue
        tree = ast.parse(cell.source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = ast.get_source_segment(cell.source, node)
    return found


@pytest.mark.parametrize("name", sorted(COPIES))
def test_the_library_copy_equals_the_notebook_cell(name):
    cells = notebook_functions()
    assert name in cells, f"the notebook no longer defines {name}"
    assert cells[name] == inspect.getsource(COPIES[name]).strip()


def test_dlcourse_serve_runs_the_app_create_app_builds(tmp_path, monkeypatch):
    torch.manual_seed(0)
    config = {"num_words": 4, "dim": 2, "hidden": 2}
    save_model_folder(
        tmp_path, build("avgpool", **config), Vocab(["<pad>", "<unk>", "good", "bad"]),
        architecture="avgpool", model_config=config, maxlen=8, classes=["neg", "pos"],
    )  # fmt: skip
    built, served, create_app = [], [], app_module.create_app

    def recording_create_app(*args, **kwargs):
        built.append(create_app(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(app_module, "create_app", recording_create_app)
    monkeypatch.setattr(server, "serve", lambda app, *args, **kwargs: served.append(app))
    assert main(["serve", "--model", str(tmp_path), "--port", "0"]) == 0
    assert len(built) == 1 and served == built
