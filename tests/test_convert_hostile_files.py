"""Hostile files for ``dlcourse convert``: weight-file bombs, crafted configs and sources,
outputs that would replace inputs or devices. Each gives one error line and writes nothing."""

from __future__ import annotations

import ast
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dlcourse.cli import main
from dlcourse.convert import ConvertError, convert_file, convert_source, convert_weights, pick_model
from dlcourse.convert.read.units import parse_unit
from dlcourse.convert.write.weights import MAX_WEIGHT_VALUES

h5py = pytest.importorskip("h5py")

HEADER = "import keras\nfrom keras import layers\n\n"


def _sequential(*calls: str, shape: str = "(4,)") -> str:
    return f"{HEADER}model = keras.Sequential([keras.Input(shape={shape}), {', '.join(calls)}])\n"


def _plan(source: str):
    return pick_model(convert_source(source, "model.py"), None)


def _legacy_h5(path: Path, layers: list[tuple[str, str, list[tuple[tuple[int, ...], dict]]]]):
    """A legacy ``.h5`` model file with datasets of the given shapes (never filled)."""
    entries = [{"class_name": "InputLayer", "config": {"name": "input"}}]
    entries += [{"class_name": kind, "config": {"name": name}} for name, kind, _ in layers]
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": entries}}
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(config)
        weights = h5.create_group("model_weights")
        weights.attrs["layer_names"] = [name.encode() for name, _, _ in layers]
        for name, _, arrays in layers:
            group = weights.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{i}".encode() for i in range(len(arrays))]
            for i, (shape, options) in enumerate(arrays):
                group.create_dataset(f"{name}/{i}", shape=shape, dtype="float32", **options)
    return path


def _keras_zip(path: Path, config: object, raw: bytes | None = None) -> Path:
    """A ``.keras`` archive whose config.json is ``config`` (or the bytes ``raw``)."""
    weights = path.with_suffix(".h5tmp")
    with h5py.File(weights, "w") as h5:
        h5.create_group("layers")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", raw if raw is not None else json.dumps(config))
        archive.write(weights, "model.weights.h5")
    weights.unlink()
    return path


# --- item 3: weight-file bombs --------------------------------------------------------------


def test_a_small_h5_declaring_billions_of_numbers_is_refused_before_reading(tmp_path):
    """10 kB on disk, 2e9 float32 declared: refused by the declared shapes, nothing read."""
    huge = {"chunks": (1000, 1000), "compression": "gzip"}
    path = _legacy_h5(
        tmp_path / "bomb.h5", [("dense", "Dense", [((200_000, 10_000), huge), ((10_000,), {})])]
    )
    assert path.stat().st_size < 100_000
    plan = _plan(_sequential("layers.Dense(10_000)", shape="(200_000,)"))
    with pytest.raises(
        ConvertError, match=f"more than this tool converts \\({MAX_WEIGHT_VALUES:,}"
    ):
        convert_weights(plan, path)


def test_declared_shapes_that_do_not_fit_the_code_are_refused_before_reading(tmp_path):
    huge = {"chunks": (1000, 1000), "compression": "gzip"}
    path = _legacy_h5(
        tmp_path / "bomb.h5", [("dense", "Dense", [((200_000, 10_000), huge), ((10_000,), {})])]
    )
    plan = _plan(_sequential("layers.Dense(3)"))
    with pytest.raises(
        ConvertError, match=r"expects an array of shape \(4, 3\).*\(200000, 10000\)"
    ):
        convert_weights(plan, path)


def test_a_zip_whose_weights_inflate_a_thousandfold_is_refused(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps({"config": {"layers": []}}))
        archive.writestr("model.weights.h5", bytes(80 * 2**20))
    assert path.stat().st_size < 2**20
    plan = _plan(_sequential("layers.Dense(3)"))
    with pytest.raises(ConvertError, match="zip bomb"):
        convert_weights(plan, path)


def test_an_oversized_config_json_is_refused_unread(tmp_path):
    path = tmp_path / "big.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (65 * 2**20))
    with pytest.raises(ConvertError, match="config.json is .* bytes"):
        convert_weights(_plan(_sequential("layers.Dense(3)")), path)


# --- item 10: crafted converter inputs give one error line ------------------------------


@pytest.mark.parametrize(
    ("config", "raw", "message"),
    [
        ([1, 2, 3], None, "JSON list, not an object"),
        ({"config": {"layers": [1, 2]}}, None, "layer 1 of its config has no class_name"),
        ({"config": {"layers": [{"config": {"name": "d"}}]}}, None, "has no class_name"),
        ({"config": {"layers": [{"class_name": "Dense", "config": 5}]}}, None, "has no name"),
        ({"config": 7}, None, "lists no layers"),
        ({"config": {"layers": [], "input_layers": 5}}, None, "input_layers is not a list"),
        (None, b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (None, b"\xff\xfe not json", "not a Keras model file"),
    ],
)
def test_crafted_keras_configs_are_one_clear_error(tmp_path, config, raw, message):
    path = _keras_zip(tmp_path / "crafted.keras", config, raw)
    with pytest.raises(ConvertError, match=message):
        convert_weights(_plan(_sequential("layers.Dense(3)")), path)


def test_empty_input_layers_are_a_clear_error(tmp_path):
    config = {
        "class_name": "Functional",
        "config": {
            "layers": [{"class_name": "Dense", "config": {"name": "d"}}],
            "input_layers": [[]],
        },
    }
    source = f"{HEADER}a = keras.Input(shape=(4,))\nmodel = keras.Model(a, layers.Dense(3)(a))\n"
    with pytest.raises(ConvertError, match="input layers"):
        convert_weights(_plan(source), _keras_zip(tmp_path / "m.keras", config))


def test_an_integer_model_config_is_a_clear_error(tmp_path):
    path = tmp_path / "int.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = 5
        h5.create_group("model_weights")
    with pytest.raises(ConvertError, match="model config is a int64, not JSON text"):
        convert_weights(_plan(_sequential("layers.Dense(3)")), path)


@pytest.mark.parametrize(
    "expression",
    ["-" * 200_000 + "1", "+".join(["1"] * 20_000), "+".join(["1"] * 3_000)],
    ids=["200k-unary-minus", "20k-term-sum", "3k-term-sum"],
)
def test_deeply_nested_sources_are_one_clear_error(expression):
    source = f"{HEADER}x = {expression}\n" + _sequential("layers.Dense(x)")[len(HEADER) :]
    with pytest.raises(ConvertError, match="nested too deeply or is too long"):
        convert_source(source, "deep.py")


def test_a_notebook_whose_cell_source_is_a_number_is_a_clear_error(tmp_path):
    path = tmp_path / "num.ipynb"
    cell = {
        "cell_type": "code",
        "source": 5,
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    }
    path.write_text(
        json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    with pytest.raises(ConvertError, match="not a valid Jupyter notebook"):
        convert_file(path)


def test_a_source_over_the_size_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.py"
    path.write_text(HEADER + "x = 1\n" * 400_000)
    with pytest.raises(
        ConvertError, match=r"the file is 2\.3 MB; the converter reads at most 1 MB"
    ):
        convert_file(path)
    with pytest.raises(ConvertError, match="at most 1 MB"):
        convert_source(path.read_text(), "big.py")


# --- item 11: a byte-order mark is accepted, as Python accepts it ---------------------------


def test_a_source_with_a_utf8_bom_converts(tmp_path):
    path = tmp_path / "bom.py"
    path.write_text(_sequential("layers.Dense(3)"), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    conversion = convert_file(path)
    assert not conversion.report.left
    assert "\ufeff" not in conversion.text


def test_source_segments_match_the_standard_library():
    source = (
        "x = 'é' + \"ü\"  # ünïcode\r\nmodel = f(a,\r    b)\nclass K(Base, métaclass=M):\n"
        "    y = [1,\n         2]\x0c\nz = 3"
    )
    unit = parse_unit("u", source, "u", notebook=False)
    for node in ast.walk(unit.tree):
        assert unit.segment(node) == ast.get_source_segment(source, node)


# --- item 5: outputs that would replace inputs, each other or a device ----------------------


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(_sequential("layers.Dense(3)"))
    return path


def _convert(*args) -> int:
    return main(["convert", *map(str, args)])


def test_output_onto_a_device_is_refused_and_the_device_survives(program, tmp_path, capsys):
    """As root, ``-o /dev/null`` replaced the system's /dev/null; a device node of our own
    (so that a regression cannot harm the machine) must be refused and left a device."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    assert _convert(program, "-o", device) == 1
    assert f"{device} exists and is not a regular file" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_output_onto_a_fifo_is_refused_without_blocking(program, tmp_path, capsys):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    assert _convert(program, "-o", fifo) == 1
    assert "not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_outputs_naming_an_input_or_each_other_are_refused(program, tmp_path, capsys):
    weights = tmp_path / "model.keras"
    weights.write_bytes(b"not read")
    link = tmp_path / "link.py"
    link.symlink_to(program)
    cases = [
        (["-o", link], "-o and the input name the same file"),
        (["-o", weights, "--weights", weights], "-o and --weights name the same file"),
        (
            ["-o", tmp_path / "x.py", "--weights", weights, "--weights-out", tmp_path / "x.py"],
            "--weights-out and -o name the same file",
        ),
        (["--weights", weights, "--weights-out", weights], "--weights-out and --weights"),
        (["--weights", weights, "--weights-out", program], "--weights-out and the input"),
    ]
    before = program.read_text()
    for extra, message in cases:
        assert _convert(program, *extra) == 1
        assert message in capsys.readouterr().err
    assert program.read_text() == before
    assert weights.read_bytes() == b"not read"
    assert not (tmp_path / "x.py").exists()


def test_an_input_that_is_not_a_regular_file_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    assert _convert(fifo, "-o", tmp_path / "out.py") == 1
    assert "not a regular file" in capsys.readouterr().err


def test_arrays_that_cannot_be_read_are_one_clear_error(tmp_path):
    """A dataset whose declared shape fits but whose stored chunks are missing or damaged."""
    path = _legacy_h5(tmp_path / "cut.h5", [("dense", "Dense", [((4, 3), {}), ((3,), {})])])
    with h5py.File(path, "r+") as h5:
        group = h5["model_weights/dense"]
        del group["dense/0"]
        group.create_dataset("dense/0", shape=(4, 3), dtype="float32", chunks=(2, 3),
                             compression="gzip", data=np.ones((4, 3), "float32"))  # fmt: skip
        offset = group["dense/0"].id.get_chunk_info(0).byte_offset
    with path.open("r+b") as raw:  # damage the first compressed chunk
        raw.seek(offset)
        raw.write(b"\xff" * 8)
    with pytest.raises(ConvertError, match="arrays of layer 'dense' cannot be read"):
        convert_weights(_plan(_sequential("layers.Dense(3)")), path)
