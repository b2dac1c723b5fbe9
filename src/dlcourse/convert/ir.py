"""The layer graph a Keras model definition is parsed into."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from dlcourse.convert.report import Loc


class Sym(str):
    """A size known only when the model is built: a constructor parameter, e.g. ``in_features``."""


class ShapeSym(Sym):
    """A whole input shape known only at run time (``shape=x.shape[1:]``): its rank is unknown
    until the layers that read it say what it must be."""


DEFERRED = "deferred_shape"
"""The name standing for the input shape of a model declared without one: Keras builds such a
model on its first call; the converted class uses PyTorch's lazy modules (``nn.LazyLinear``)."""

Dim = int | Sym | None
"""One axis of a shape: a number, a constructor parameter, or ``None`` (any length)."""


class Unsupported(Exception):
    """A construct the converter does not handle; ``node`` locates it in the source."""

    def __init__(self, node: ast.AST | None, message: str, loc: Loc | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.loc = loc
        self.cause: Loc | None = None
        """Set when this only follows from an earlier failure: where that one is reported."""


@dataclass
class LayerCall:
    """One Keras layer as written: its class, bound arguments and where it is."""

    kind: str
    args: dict[str, Any]
    loc: Loc
    source: str
    name: str | None = None
    inner: LayerCall | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Node:
    """A layer applied to named values, giving a named value."""

    layer: LayerCall
    inputs: list[str]
    output: str


@dataclass
class ModelDef:
    """A Keras model definition: an input, layers applied in order, an output."""

    var: str
    input_name: str
    input_shape: tuple[Dim, ...]
    nodes: list[Node]
    output: str
    loc: Loc
    functional: bool
    params: dict[str, str] = field(default_factory=dict)
    """Constructor parameters: name -> the source expression that gives its value."""
    fold: str | None = None
    """``softmax`` or ``sigmoid`` when the final activation is folded into the loss."""
    more_inputs: list[tuple[str, tuple[Dim, ...]]] = field(default_factory=list)
    """A functional model's other inputs (name, shape), after ``input_name``, in Keras's order."""
    more_outputs: list[str] = field(default_factory=list)
    """A functional model's other outputs, after ``output``, in Keras's order."""

    @property
    def inputs(self) -> list[tuple[str, tuple[Dim, ...]]]:
        """Every input: (name, Keras shape), in the order ``forward`` takes them."""
        return [(self.input_name, self.input_shape), *self.more_inputs]

    @property
    def outputs(self) -> list[str]:
        """Every output, in the order ``forward`` returns them."""
        return [self.output, *self.more_outputs]
