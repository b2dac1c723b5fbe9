"""Keras lessons, converted and executed: each notebook must run with no error cell.

The notebooks under ``tests/convert_cases/`` are small Keras lessons in the style of the usual
tutorials (dataset aliases, custom callbacks, schedules, ``history`` plots,
``Input(shape=x.shape[1:])``, a segmentation loss). Each is converted, its epochs cut to one,
and run top to bottom in a fresh kernel. ``LEFT`` is what the report must leave for the user:
one item per root cause.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dlcourse.convert import convert_notebook_node

CASES = Path(__file__).parent / "convert_cases"
REAL_DATA = {"fashion_mnist_basic", "cifar10_cnn", "imdb_overfitting", "imdb_embedding_lstm"}
LEFT = {  # notebook: the report's items left for the user, by their message's start
    "boston_regression": [],
    "cifar10_cnn": [],
    "fashion_mnist_basic": ["a model or layer object (model) inside Sequential"],
    "imdb_embedding_lstm": [],
    "imdb_overfitting": ["compile: metric tf.keras.metrics.F1Score()", "Dense: kernel_regularizer"],
    "segmentation_unet": ["callback keras.callbacks.TensorBoard"],
    # issue 27: notebooks in the styles people write (each trains; see their assert cells)
    "keras2_fit_generator": [],
    "keras3_no_input_shape": [],
    "tf_keras_tf_function": [],
    "gradient_tape_loop": [
        "a custom training step (tf.GradientTape) is not converted",
        "tensorflow.data.Dataset.from_tensor_slices is not converted",
    ],
}


def one_epoch(source: str) -> str:
    """The code with every ``epochs=N`` (and ``EPOCHS = N``) cut to one."""
    source = re.sub(r"\bepochs\s*=\s*\w+", "epochs=1", source)
    return re.sub(r"(?m)^(\s*EPOCHS\s*=\s*)\d+", r"\g<1>1", source)


def converted(name: str) -> tuple[nbformat.NotebookNode, object]:
    nb = nbformat.read(CASES / f"{name}.ipynb", as_version=4)
    conversion = convert_notebook_node(nb, f"{name}.ipynb")
    return nbformat.reads(conversion.text, as_version=4), conversion.report


def params() -> list:
    return [
        pytest.param(name, marks=[pytest.mark.realdata] if name in REAL_DATA else [])
        for name in sorted(LEFT)
    ]


def test_every_case_notebook_is_listed():
    assert sorted(p.stem for p in CASES.glob("*.ipynb")) == sorted(LEFT)


@pytest.mark.parametrize("name", sorted(LEFT))
def test_case_report_leaves_only_what_it_must(name):
    _, report = converted(name)
    left = [issue.message for issue, _ in report.roots]
    assert len(left) == len(LEFT[name]), report.to_text()
    for message, start in zip(left, LEFT[name], strict=True):
        assert message.startswith(start), report.to_text()


@pytest.fixture(scope="module")
def kernel():
    """One kernel for every case (started once: most of a small notebook's time)."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    yield manager
    manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("name", params())
def test_case_notebook_runs_converted(name, kernel, tmp_path):
    nb, _ = converted(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = one_epoch(cell.source)
    fresh = f"%reset -f\nimport os\nos.chdir({str(tmp_path)!r})"  # a clean namespace
    nb.cells.insert(0, nbformat.v4.new_code_cell(fresh))
    NotebookClient(nb, km=kernel, timeout=180).execute()  # raises on an error cell, naming it
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Traceback" not in printed
