"""The converter never runs what it reads, and writes only literals from layer arguments.

A hostile tester found that a string where a layer expects a number (``Dropout("__import__(
'os').system(...) or 0.5")``) was pasted into the generated class as code, and that
``--weights`` then ran it. These tests put strings, attribute chains, calls, f-strings,
lambdas and out-of-range numbers in every argument position of every supported layer, and
check that nothing but literals reaches the generated class and that nothing runs.
"""

from __future__ import annotations

import ast
import os
import random
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import pytest

from dlcourse.cli import main
from dlcourse.convert import ConvertError, convert_source
from dlcourse.convert.layers.registry import ALIAS, layer_defs
from dlcourse.convert.read.arg_checks import check_for
from dlcourse.convert.write.code_check import build_class, check_class

MARK = "/tmp/dlcourse-convert-pwned"
HEADER = "import keras\nfrom keras import layers\n\n"

# A working call of every layer, with the input shape it needs.
BASE: dict[str, tuple[tuple[int, ...], dict[str, str]]] = {
    "Dense": ((4,), {"units": "3"}),
    "Dropout": ((4,), {"rate": "0.5"}),
    "Activation": ((4,), {"activation": "'relu'"}),
    "ReLU": ((4,), {}),
    "Rescaling": ((4,), {"scale": "0.5"}),
    "Flatten": ((4, 2), {}),
    "Reshape": ((4,), {"target_shape": "(2, 2)"}),
    "BatchNormalization": ((4,), {}),
    "Embedding": ((5,), {"input_dim": "10", "output_dim": "3"}),
    "Concatenate": ((4,), {}),
    "Add": ((4,), {}),
    "TimeDistributed": ((5, 2), {"layer": "layers.Dense(2)"}),
    "Bidirectional": ((5, 2), {"layer": "layers.LSTM(2)"}),
    "SimpleRNN": ((5, 2), {"units": "2"}),
    "LSTM": ((5, 2), {"units": "2"}),
    "GRU": ((5, 2), {"units": "2"}),
    "Conv1D": ((8, 2), {"filters": "2", "kernel_size": "3"}),
    "Conv2D": ((8, 8, 1), {"filters": "2", "kernel_size": "3"}),
    "Conv3D": ((4, 4, 4, 1), {"filters": "2", "kernel_size": "3"}),
    "Conv2DTranspose": ((4, 4, 1), {"filters": "2", "kernel_size": "3"}),
    "MaxPooling1D": ((8, 2), {}),
    "MaxPooling2D": ((8, 8, 1), {}),
    "MaxPooling3D": ((4, 4, 4, 1), {}),
    "AveragePooling1D": ((8, 2), {}),
    "AveragePooling2D": ((8, 8, 1), {}),
    "AveragePooling3D": ((4, 4, 4, 1), {}),
    "GlobalAveragePooling1D": ((8, 2), {}),
    "GlobalAveragePooling2D": ((8, 8, 1), {}),
    "GlobalMaxPooling1D": ((8, 2), {}),
    "GlobalMaxPooling2D": ((8, 8, 1), {}),
    "UpSampling1D": ((8, 2), {}),
    "UpSampling2D": ((8, 8, 1), {}),
}

PAYLOADS = [
    f"\"__import__('pathlib').Path('{MARK}').touch() or 3\"",
    f"\"__import__('os').system('touch {MARK}') or 0.5\"",
    f"f\"{{__import__('pathlib').Path('{MARK}').touch()}}\"",
    f"__import__('pathlib').Path('{MARK}').touch() or 3",
    f"(lambda: __import__('pathlib').Path('{MARK}').touch())()",
    "lambda: 3",
    "os.path.sep",
    "keras.backend.floatx()",
    "'3'",
    "'import'",
    "'__class__'",
    "'relu); import os #'",
    "'\\n__import__(\"os\")'",
    "('same', __import__)",
    "(\"1) or __import__('os') or (1\", 2)",
    "b'3'",
    "3j",
    "1e999",
    "-(10**40)",
    "10**40",
    "-7",
    "0",
    "2.5",
    "True",
    "None",
    "[1, 'x']",
    "EVIL",  # a name bound to a string
]


def _random_strings(count: int, seed: int) -> list[str]:
    """Random string literals: quotes, brackets, newlines, comment signs, code words."""
    rng = random.Random(seed)
    alphabet = list("abc_019 ()[]{}'\"\\#;:.,=+-*/\n\t\r") + ["__import__", "os", "lambda"]
    return [
        repr("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))) for _ in range(count)
    ]


def _program(kind: str, shape: tuple[int, ...], args: dict[str, str]) -> str:
    """A Sequential model (or a functional one for merges) calling ``kind`` with ``args``."""
    text = ", ".join(f"{k}={v}" for k, v in args.items())
    if layer_defs()[kind].merge:
        return (
            f"{HEADER}EVIL = \"__import__('os')\"\n"
            f"a = keras.Input(shape={shape})\nb = keras.Input(shape={shape})\n"
            f"out = layers.{kind}({text})([a, b])\nmodel = keras.Model([a, b], out)\n"
        )
    return (
        f"{HEADER}EVIL = \"__import__('os')\"\n"
        f"model = keras.Sequential([keras.Input(shape={shape}), layers.{kind}({text})])\n"
    )


def _positions() -> list[tuple[str, str]]:
    """Every (layer, argument) pair, plus the layer name and the input shape."""
    pairs = []
    for kind, ldef in sorted(layer_defs().items()):
        if kind == ALIAS:
            continue
        pairs += [(kind, name) for name, _ in ldef.params if name != "layer"]
        pairs.append((kind, "name"))
    return pairs


def _assert_no_input_code(text: str, payload: str) -> None:
    """The converted program calls nothing the payload brought, unless the input wrote it as
    code (a user's own expression may stay in the program, never inside the model class)."""
    tree = ast.parse(text)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    as_code = "__import__" in {
        n.id for n in ast.walk(ast.parse(payload)) if isinstance(n, ast.Name)
    }
    if not as_code:
        assert "__import__" not in names, text


def test_every_argument_of_every_layer_has_a_type_check():
    missing = [
        (kind, name)
        for kind, ldef in layer_defs().items()
        for name, _ in ldef.params
        if name != "layer" and check_for(kind, name) is None
    ]
    assert not missing


def test_every_layer_has_a_working_base_call():
    assert set(BASE) == set(layer_defs()) - {ALIAS}
    for kind, (shape, args) in BASE.items():
        conversion = convert_source(_program(kind, shape, args), f"{kind}.py")
        assert not conversion.report.left, (kind, conversion.report.to_text())


@pytest.mark.parametrize(("kind", "name"), _positions())
def test_hostile_values_in_every_argument_never_reach_the_class(kind, name):
    shape, base = BASE[kind]
    payloads = PAYLOADS + _random_strings(6, hash((kind, name)) % 1000)
    for payload in payloads:
        args = {**base, name: payload}
        source = _program(kind, shape, args)
        try:
            conversion = convert_source(source, "hostile.py")
        except ConvertError:
            continue  # refused as a whole, with one message: nothing written
        for plan in conversion.models:
            check_class(plan.code, plan.class_name)
            cls_tree = ast.parse(plan.code)
            for node in ast.walk(cls_tree):
                assert not (isinstance(node, ast.Name) and node.id in ("__import__", "EVIL"))
            if not plan.model.params:
                build_class(plan.code, plan.class_name)()
        _assert_no_input_code(conversion.text, payload)
        assert not os.path.exists(MARK), (kind, name, payload)


@pytest.mark.parametrize("payload", PAYLOADS[:6])
def test_hostile_input_shapes_never_reach_the_class(payload):
    for shape in (f"({payload},)", f"(4, {payload})", payload):
        source = (
            f"{HEADER}model = keras.Sequential([keras.Input(shape={shape}), layers.Dense(2)])\n"
        )
        try:
            conversion = convert_source(source, "shape.py")
        except ConvertError:
            continue
        for plan in conversion.models:
            assert "__import__" not in plan.code.split('"""')[-1] or plan.model.params
            check_class(plan.code, plan.class_name)
        assert not os.path.exists(MARK)


def test_a_string_size_is_reported_not_pasted():
    source = _program(
        "Dropout", (4,), {"rate": f"\"__import__('os').system('touch {MARK}') or 0.5\""}
    )
    conversion = convert_source(source, "evil.py")
    assert not conversion.models
    text = conversion.report.to_text()
    assert "1 not converted" in text
    assert "Dropout: rate=" in text and "is not a number from 0 to 1" in text


def test_weights_conversion_never_runs_input_text(tmp_path, capsys):
    """The reported attack, end to end: a real saved model, code with a payload, --weights."""
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.Dropout(0.5)]
    )
    model.save(tmp_path / "model.keras")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.py"
    evil.write_text(
        HEADER + "model = keras.Sequential([\n    keras.Input(shape=(4,)),\n"
        f"    layers.Dense(\"__import__('pathlib').Path(r'{marker}').touch() or 3\"),\n"
        f"    layers.Dropout(\"__import__('pathlib').Path(r'{marker}').touch() or 0.5\"),\n])\n"
    )
    out = tmp_path / "out.py"
    status = main(
        ["convert", str(evil), "--weights", str(tmp_path / "model.keras"), "-o", str(out)]
    )
    assert not marker.exists()
    assert status == 1
    assert "no model was converted" in capsys.readouterr().err
    assert not (tmp_path / "out.py").exists()


CLASS = """\
class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense(x)
        return x
"""


def test_the_class_check_accepts_what_the_converter_writes():
    module = build_class(CLASS, "Model")()
    assert sum(p.numel() for p in module.parameters()) == 15


@pytest.mark.parametrize(
    "line",
    [
        "self.dense = __import__('os')",
        "self.dense = nn.Linear(4, 3).__class__",
        "self.dense = torch.load('x')",
        "self.dense = getattr(nn, 'Linear')(4, 3)",
        "self.dense = (lambda: nn.Linear(4, 3))()",
        "self.dense = [nn.Linear(4, 3) for _ in (1,)][0]",
        "self.dense = nn.Linear(4, 3 ** 3 ** 30)",
        "self.__dict__ = {}",
        "self.dense = torch.hub.load('a', 'b')",
        "self.dense = nn.Linear(4, x.__class__)",
        "import os",
    ],
)
def test_the_class_check_refuses_anything_else(line):
    code = CLASS.replace("self.dense = nn.Linear(4, 3)", line)
    with pytest.raises(ConvertError, match="it was not run|no class"):
        check_class(code, "Model")


def test_a_decorated_or_subclassed_class_is_refused():
    for code in (
        CLASS.replace("class Model(nn.Module)", "@print\nclass Model(nn.Module)"),
        CLASS.replace("class Model(nn.Module)", "class Model(nn.Module, metaclass=type)"),
        CLASS.replace("class Model(nn.Module)", "class Model(object)"),
        CLASS.replace("    def forward", "    @staticmethod\n    def forward"),
    ):
        with pytest.raises(ConvertError):
            check_class(code, "Model")


@pytest.fixture(autouse=True)
def _no_marker():
    Path(MARK).unlink(missing_ok=True)
    yield
    assert not Path(MARK).exists()
