"""Writes one model's ``__init__`` and ``forward`` lines while tracking each tensor's layout.

Keras keeps channels last, (N, H, W, C); PyTorch's convolutions want channels first,
(N, C, H, W). Every value remembers its Keras shape and whether it is currently stored
channels first, and layers ask for the layout they need: a permutation is written only
where the layout changes.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from dlcourse.convert.ir import DEFERRED, Dim, LayerCall, Sym, Unsupported


@dataclass(frozen=True)
class Value:
    """A tensor in ``forward``: its variable, Keras shape (no batch axis) and layout."""

    var: str
    shape: tuple[Dim, ...]
    channels_first: bool = False
    flat_from: tuple[Dim, ...] | None = None
    """Keras shape before a Flatten that kept PyTorch's channels-first order."""
    mask: str | None = None
    """The variable holding Keras's mask of the time steps (``mask_zero=True``), if any."""

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True)
class WeightSpec:
    """How one Keras layer's weights become entries ``<attr>.*`` of the state_dict."""

    attr: str
    layer: LayerCall
    node: int
    """Index of the layer's node in the model."""
    kind: str
    shapes: tuple[tuple[Dim, ...], ...]
    """The Keras arrays' shapes, in the file's order; a size that is not a number: any."""
    info: dict[str, Any] = field(default_factory=dict)


_ACTIVATIONS = {
    "relu": "F.relu({})",
    "sigmoid": "torch.sigmoid({})",
    "tanh": "torch.tanh({})",
    "elu": "F.elu({})",
    "gelu": "F.gelu({})",
    "selu": "F.selu({})",
    "softplus": "F.softplus({})",
    "silu": "F.silu({})",
    "swish": "F.silu({})",
    "leaky_relu": "F.leaky_relu({}, 0.2)",
}


def snake_case(name: str) -> str:
    """Keras's layer naming: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


_MODULE_NAMES = frozenset(dir(nn.Module())) | {"output_activation", "stop_training"}


def _taken_by_module(name: str) -> bool:
    """Names an ``nn.Module`` (or the converted class and ``fit``) already uses."""
    return name in _MODULE_NAMES


def dim_text(dim: Dim) -> str:
    """A dimension as written in a shape comment."""
    return "?" if dim is None or DEFERRED in str(dim) else str(dim)


_OPS: dict[str, type[ast.operator]] = {
    "+": ast.Add,
    "-": ast.Sub,
    "*": ast.Mult,
    "//": ast.FloorDiv,
}


def arith(left: Dim, op: str, right: Dim) -> Dim:
    """``left op right`` for sizes: a number when both are numbers, None when either is unknown,
    else code built as an expression tree, so that ``ast.unparse`` writes the parentheses."""
    if left is None or right is None:
        return None
    if (op in ("+", "-") and right == 0) or (op in ("*", "//") and right == 1):
        return left
    if not isinstance(left, Sym) and not isinstance(right, Sym):
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        return left * right if op == "*" else left // right
    tree = ast.BinOp(_code(left), _OPS[op](), _code(right))
    return Sym(ast.unparse(tree))


def _code(dim: int | Sym) -> ast.expr:
    return ast.parse(str(dim), mode="eval").body


def product(dims: tuple[Dim, ...]) -> Dim:
    """The number of elements in ``dims``: a number, an expression, or None if unknown."""
    if any(d is None for d in dims):
        return None
    number = 1
    symbols: list[Dim] = []
    for d in dims:
        if isinstance(d, Sym):
            symbols.append(d)
        else:
            number *= int(d)  # type: ignore[arg-type]
    result: Dim = number
    for symbol in symbols:
        result = symbol if result == 1 else arith(result, "*", symbol)
    return result


class Builder:
    """Accumulates the code of one ``nn.Module`` as layers are added."""

    def __init__(self) -> None:
        self.init: list[tuple[str, str]] = []
        self.forward: list[tuple[str, str]] = []
        self.weights: list[WeightSpec] = []
        self.values: dict[str, Value] = {}
        self.counts: dict[str, int] = {}
        self.attrs: set[str] = set()
        self.target = "x"
        self.node = 0
        self.uses_functional = False
        self.flatten_keeps_order = False

    def attr_for(self, layer: LayerCall) -> str:
        """The attribute a layer's module gets: its Keras name, or Keras's default name."""
        name_ok = layer.name and layer.name.isidentifier() and not keyword.iskeyword(layer.name)
        if name_ok and not _taken_by_module(layer.name):  # type: ignore[arg-type]
            name = layer.name
        else:
            base = snake_case(layer.kind)
            count = self.counts.get(base, 0)
            self.counts[base] = count + 1
            name = base if count == 0 else f"{base}_{count}"
        while name in self.attrs:
            name += "_"
        self.attrs.add(name)
        return name

    def module(self, layer: LayerCall, ctor: str, attr: str | None = None) -> str:
        """Add ``self.<attr> = <ctor>`` to ``__init__``; returns the attribute name."""
        attr = attr or self.attr_for(layer)
        self.init.append((f"self.{attr} = {ctor}", f"line {layer.loc.line}: {layer.source}"))
        return attr

    def weight(
        self,
        attr: str,
        layer: LayerCall,
        kind: str,
        shapes: tuple[tuple[Dim, ...], ...],
        **info: Any,
    ) -> None:
        """Record how the layer's Keras weights (arrays of ``shapes``) map onto ``self.<attr>``."""
        self.weights.append(WeightSpec(attr, layer, self.node, kind, shapes, info))

    def comment(self, text: str) -> None:
        """A comment line in ``forward``."""
        self.forward.append((f"# {text}", ""))

    def assign(
        self,
        expr: str,
        shape: tuple[Dim, ...],
        channels_first: bool = False,
        note: str = "",
        flat_from: tuple[Dim, ...] | None = None,
        var: str | None = None,
    ) -> Value:
        """Write ``<var> = <expr>`` with the resulting shape as a comment."""
        value = Value(var or self.target, shape, channels_first, flat_from)
        comment = self.shape_text(value) + (f": {note}" if note else "")
        self.forward.append((f"{value.var} = {expr}", comment))
        self.values[value.var] = value
        return value

    @staticmethod
    def shape_text(value: Value) -> str:
        """The PyTorch shape of a value, e.g. ``(N, 32, 26, 26)``."""
        dims = list(value.shape)
        if value.channels_first:
            dims = [dims[-1], *dims[:-1]]
        return "(" + ", ".join(["N", *map(dim_text, dims)]) + ")"

    def channels_first(self, value: Value) -> Value:
        """``value`` with channels on axis 1, as PyTorch's convolutions and BatchNorm want."""
        value = self.values.get(value.var, value)  # a merge may already have permuted it
        if value.channels_first or value.rank < 2:
            return value
        order = ", ".join(map(str, [0, value.rank, *range(1, value.rank)]))
        return self.assign(
            f"{value.var}.permute({order})",
            value.shape,
            channels_first=True,
            note="channels first for PyTorch",
            var=value.var,
        )

    def channels_last(self, value: Value) -> Value:
        """``value`` in Keras's layout (channels last), as Dense, RNNs and Reshape want."""
        value = self.values.get(value.var, value)  # a merge may already have permuted it
        if not value.channels_first:
            return value
        order = ", ".join(map(str, [0, *range(2, value.rank + 1), 1]))
        return self.assign(
            f"{value.var}.permute({order})",
            value.shape,
            note="channels last, as in Keras",
            var=value.var,
        )

    def line(self, code: str, comment: str = "") -> None:
        """Any other line of ``forward``."""
        self.forward.append((code, comment))

    def activate(self, expr: str, name: object, channels_first: bool = False) -> str:
        """``expr`` wrapped in a Keras activation; channels-first outputs take softmax on axis 1."""
        if name in (None, "linear"):
            return expr
        if name == "softmax":
            return f"torch.softmax({expr}, dim={1 if channels_first else -1})"
        if not isinstance(name, str) or name not in _ACTIVATIONS:
            raise Unsupported(None, f"activation {name!r} is not supported")
        template = _ACTIVATIONS[name]
        self.uses_functional = self.uses_functional or template.startswith("F.")
        return template.format(expr)
