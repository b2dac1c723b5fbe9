"""The layer graph a Keras model definition is parsed into."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from dlcourse.convert.report import Loc


class Sym(str):
    """A size known only when the model is built: a constructor parameter, e.g. ``in_features``."""


Dim = int | Sym | None
"""One axis of a shape: a number, a constructor parameter, or ``None`` (any length)."""


class Unsupported(Exception):
    """A construct the converter does not handle; ``node`` locates it in the source."""

    def __init__(self, node: ast.AST | None, message: str, loc: Loc | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.loc = loc


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
