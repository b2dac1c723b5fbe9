"""``dlcourse convert``: outputs, weights, and errors that leave nothing behind."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import nbformat
import numpy as np
import pytest
import torch

from dlcourse.cli import main

MODEL = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(6, 6, 1)),
    layers.Conv2D(3, 3, activation="relu"),
    layers.Flatten(),
    layers.Dense(2, activation="softmax"),
])
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["convert", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_converts_a_file_next_to_it_and_prints_the_report(tmp_path, capsys):
    source = tmp_path / "net.py"
    source.write_text(MODEL + "model.summary()\nprint(model.layers)\n")
    status, _, err = run(capsys, source)
    assert status == 3  # written, with one item left for the user
    assert "Conversion report: 1 not converted" in err and "net.py, line 11" in err
    text = (tmp_path / "net_torch.py").read_text()
    assert "class Model(nn.Module):" in text and "# Conversion report" in text


def test_output_dash_prints_the_code(tmp_path, capsys):
    source = tmp_path / "net.py"
    source.write_text(MODEL)
    status, out, _ = run(capsys, source, "-o", "-")
    assert status == 0 and out.startswith("import torch")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.py"]


def test_weights_are_converted_and_load(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    namespace: dict = {}
    exec(MODEL, namespace)
    keras_model = namespace["model"]
    keras_model.save(tmp_path / "net.keras")
    source = tmp_path / "net.py"
    source.write_text(MODEL)
    status, _, err = run(capsys, source, "--weights", tmp_path / "net.keras")
    assert status == 0, err
    converted: dict = {}
    exec((tmp_path / "net_torch.py").read_text(), converted)
    model = converted["create_model"](weights=str(tmp_path / "net.pt"))
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras_model(x))
    with torch.no_grad():
        got = model.eval()(torch.from_numpy(x)).numpy()
    assert np.abs(got - expected).max() <= 1e-5


def test_weights_of_another_model_fail_and_write_nothing(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    other = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    other.save(tmp_path / "other.keras")
    source = tmp_path / "net.py"
    source.write_text(MODEL)
    status, _, err = run(capsys, source, "--weights", tmp_path / "other.keras")
    assert status == 1
    assert "does not hold this model" in err and "Nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.py", "other.keras"]


def test_syntax_error_names_the_line_and_writes_nothing(tmp_path, capsys):
    source = tmp_path / "bad.py"
    source.write_text("import keras\n\nmodel = keras.Sequential([)\n")
    status, _, err = run(capsys, source)
    assert status == 1
    assert f"{source}, line 3: invalid Python syntax" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.py"]


def test_notebook_syntax_error_names_the_cell(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = (1,\ny = 2")]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    status, _, err = run(capsys, path)
    assert status == 1 and "bad.ipynb, cell 2, line" in err
    assert not (tmp_path / "bad_torch.ipynb").exists()


def test_strict_fails_on_anything_left(tmp_path, capsys):
    source = tmp_path / "net.py"
    source.write_text(MODEL.replace("layers.Flatten(),", "layers.LayerNormalization(),"))
    status, _, err = run(capsys, source, "--strict")
    assert status == 1
    assert "line 7: layer LayerNormalization is not supported" in err
    assert not (tmp_path / "net_torch.py").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["net.txt"], "give a .py file or an .ipynb notebook"),
        (["net.py", "-o", "net.py"], "-o and the input name the same file"),
        (["net.py", "--weights-out", "w.pt"], "--weights-out needs --weights"),
        (["missing.py"], "no such file"),
        (["net.py", "--weights", "nothing.keras"], "no such weights file"),
    ],
)
def test_bad_invocations_explain_themselves(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(MODEL)
    (tmp_path / "net.txt").write_text(MODEL)
    status, _, err = run(capsys, *args)
    assert status == 1 and message in err
    assert not (tmp_path / "net_torch.py").exists()


def test_several_models_need_model_to_pick_one(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)]).save(tmp_path / "b.keras")
    source = tmp_path / "two.py"
    source.write_text(
        "import keras\na = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "b = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
    )
    status, _, err = run(capsys, source, "--weights", tmp_path / "b.keras")
    assert status == 1 and "several models were converted (a, b)" in err
    status, _, err = run(capsys, source, "--weights", tmp_path / "b.keras", "--model", "b")
    assert status == 0, err
    assert set(torch.load(tmp_path / "b.pt")) == {"dense.weight", "dense.bias"}


def test_help_documents_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    out = capsys.readouterr().out
    for option in ("--output", "--weights", "--weights-out", "--model", "--strict"):
        assert option in out
