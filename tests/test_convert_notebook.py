"""Converting notebooks: markdown kept, code converted, the report last; the result runs."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlcourse.convert import convert_notebook_node

CELLS = [
    ("markdown", "# Fashion-MNIST with Keras\nA small MLP, trained briefly."),
    (
        "code",
        "%matplotlib inline\nimport numpy as np\nimport tensorflow as tf\n"
        "from tensorflow import keras",
    ),
    ("code", "keras.utils.set_random_seed(0)"),
    (
        "code",
        "(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\n"
        "x_train, y_train = x_train[:2000] / 255.0, y_train[:2000]\n"
        "x_test, y_test = x_test[:500] / 255.0, y_test[:500]",
    ),
    ("markdown", "## The model"),
    (
        "code",
        "model = keras.Sequential([\n"
        "    keras.layers.Flatten(input_shape=(28, 28)),\n"
        "    keras.layers.Dense(64, activation='relu'),\n"
        "    keras.layers.Dense(10, activation='softmax'),\n"
        "])\n"
        "model.summary()",
    ),
    (
        "code",
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy',\n"
        "              metrics=['accuracy'])\n"
        "history = model.fit(x_train, y_train, epochs=1, batch_size=64,\n"
        "                    validation_data=(x_test, y_test))",
    ),
    (
        "code",
        "test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)\n"
        "print(f'test accuracy {test_acc:.3f}, epochs {len(history.history[\"loss\"])}')",
    ),
    ("code", "keras.utils.plot_model(model, show_shapes=True)"),
]


def keras_notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [new_code_cell(s) if k == "code" else new_markdown_cell(s) for k, s in CELLS]
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="old Keras output")]
    return nb


@pytest.fixture(scope="module")
def converted() -> tuple[nbformat.NotebookNode, object]:
    conversion = convert_notebook_node(keras_notebook(), "fmnist.ipynb")
    return nbformat.reads(conversion.text, as_version=4), conversion.report


def test_markdown_is_kept_and_the_report_is_the_last_cell(converted):
    nb, report = converted
    nbformat.validate(nb)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown[0] == CELLS[0][1] and "## The model" in markdown
    assert markdown[-1].startswith("## Conversion report")
    assert "cell 9, line 1: keras.utils.plot_model is not converted" in markdown[-1]
    assert "folded into nn.CrossEntropyLoss" in markdown[-1]
    assert [str(i.loc) for i in report.left] == ["cell 9, line 1"]


def test_code_is_converted_in_place_with_the_helpers_after_the_imports(converted):
    nb, _ = converted
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    imports = "%matplotlib inline\nimport numpy as np\nimport inspect\nimport random\nimport torch"
    assert code[0].startswith(imports)
    assert "def fit(model, loss_fn, optimizer, x, y" in code[1] and "def evaluate(" in code[1]
    assert code[2] == "# Keras: keras.utils.set_random_seed(0)\nrandom.seed(0)\n" + (
        "np.random.seed(0)\ntorch.manual_seed(0)"
    )
    assert "keras_datasets.fashion_mnist.load_data()" in code[3]
    assert "class Model(nn.Module):" in code[4] and "summary(model)" in code[4]
    assert "history = fit(model, loss_fn, optimizer, x_train, y_train" in code[5]
    assert "history['loss']" in code[6]
    assert code[7].startswith("# NOT CONVERTED") and all(
        not c.outputs for c in nb.cells[1:-1] if c.cell_type == "code"
    )


@pytest.mark.realdata
def test_converted_notebook_executes_and_trains(converted, tmp_path):
    """Runs the converted notebook in a fresh kernel on real Fashion-MNIST (2000 images)."""
    nb, _ = converted
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    printed = "".join(
        output.get("text", "") for cell in nb.cells for output in cell.get("outputs", [])
    )
    assert "Epoch 1/1 - loss:" in printed and "val_accuracy" in printed
    accuracy = float(printed.split("test accuracy ")[1].split(",")[0])
    assert accuracy > 0.5  # ten classes: chance is 0.1
