"""Read one Keras layer call, e.g. ``layers.Dense(64, activation="relu")``, into the IR."""

from __future__ import annotations

import ast

from dlcourse.convert.ir import Dim, LayerCall, ShapeSym, Sym, Unsupported
from dlcourse.convert.layers.builder import snake_case
from dlcourse.convert.layers.registry import (
    INITIALISERS,
    KERAS_ALIASES,
    NO_EFFECT,
    REQUIRED,
    TRAINING_ONLY,
    LayerDef,
    layer_defs,
)
from dlcourse.convert.read.arg_checks import MAX_SIZE, check_for, shown
from dlcourse.convert.read.constants import Constants, NotConstant
from dlcourse.convert.read.names import Aliases
from dlcourse.convert.read.units import Unit
from dlcourse.convert.report import Loc

_SHAPE_ARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_shape")
_RESERVED = {"self", "x", "weights", "model", "torch", "nn", "F"}


class Syms:
    """Sizes known only at run time, which become the model's constructor parameters."""

    def __init__(self) -> None:
        self.params: dict[str, str] = {}

    def add(self, expr: ast.expr, fallback: str) -> Sym:
        """A parameter standing for ``expr``: named after it when it is a plain name."""
        source = ast.unparse(expr)
        base = expr.id if isinstance(expr, ast.Name) else fallback
        if base in _RESERVED:
            base += "_"
        name, count = base, 1
        while self.params.get(name, source) != source:
            count += 1
            name = f"{base}_{count}"
        self.params[name] = source
        return Sym(name)


class LayerParser:
    """Turns ``layers.Dense(64, activation="relu")`` into a :class:`LayerCall`."""

    def __init__(self, aliases: Aliases) -> None:
        self.aliases = aliases
        self.defs: dict[str, LayerDef] = layer_defs()
        self.consts = Constants(aliases)
        self.unit = Unit("", "", None)

    def at(self, unit: Unit, consts: Constants) -> None:
        """Say which unit (file or cell) and scope the next statements come from."""
        self.unit, self.consts = unit, consts

    def loc(self, node: ast.AST) -> Loc:
        return self.unit.loc(node)

    def text(self, node: ast.AST) -> str:
        """The source of ``node`` on one line."""
        text = self.unit.segment(node) or ast.unparse(node)
        return " ".join(text.split())

    def dotted(self, func: ast.expr) -> str | None:
        return self.aliases.resolve(func)

    def layer_kind(self, func: ast.expr) -> str | None:
        """``Dense`` for ``layers.Dense`` (supported or not); None when not a Keras layer."""
        dotted = self.dotted(func)
        if dotted and dotted.startswith("keras.layers.") and dotted[13:14].isupper():
            return KERAS_ALIASES.get(dotted[13:], dotted[13:])
        return None

    def is_input(self, call: ast.expr) -> bool:
        if not isinstance(call, ast.Call):
            return False
        return self.dotted(call.func) in ("keras.Input", "keras.layers.InputLayer")

    def layer(
        self, call: ast.Call, syms: Syms, kind: str | None = None
    ) -> tuple[LayerCall, tuple[Dim, ...] | None]:
        """The layer a call builds, and the input shape it declares (``input_shape=``), if any."""
        kind = kind or self.layer_kind(call.func)
        if kind is None:
            raise Unsupported(call, f"{self.text(call.func)} is not a Keras layer")
        if kind not in self.defs:
            raise Unsupported(call, f"layer {kind} is not supported")
        ldef = self.defs[kind]
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            raise Unsupported(call, f"{kind}: *args and **kwargs are not supported")
        limit = len(ldef.params) if ldef.positional is None else ldef.positional
        if len(call.args) > limit:
            raise Unsupported(call.args[limit], f"{kind}: too many positional arguments")
        given = {ldef.params[i][0]: expr for i, expr in enumerate(call.args)}
        given.update({k.arg: k.value for k in call.keywords if k.arg})
        result = LayerCall(kind, {}, self.loc(call), self.text(call))
        if ldef.note:
            result.notes.append((True, ldef.note))
        shape: tuple[Dim, ...] | None = None
        for name, default in ldef.params:
            if name in given:
                result.args[name] = self._arg(given.pop(name), kind, name, ldef, syms, result)
            elif default is REQUIRED:
                raise Unsupported(call, f"{kind}: argument {name!r} is missing")
            else:
                result.args[name] = default
        for name, expr in given.items():
            if name == "name":  # only a label: when computed at run time, Keras's default
                try:
                    label = self.consts.eval(expr)
                except NotConstant:
                    label = None
                result.name = label if isinstance(label, str) else None
            elif name in _SHAPE_ARGS:
                shape = self.shape(expr, syms, batch=name.startswith("batch"))
                if name == "input_dim":
                    shape = (self._dim(expr, syms, "in_features"),)
            elif name in INITIALISERS:
                message = f"{kind}: {name}= not reproduced (PyTorch initialises its own way)"
                result.notes.append((True, message))
            elif name in TRAINING_ONLY:
                message = (
                    f"{kind}: {name}={self.text(expr)} is not reproduced (it acts in training)"
                )
                result.notes.append((False, message))
            elif name not in NO_EFFECT:
                raise Unsupported(expr, f"{kind}: argument {name!r} is not supported")
        return result, shape

    def _arg(
        self, expr: ast.expr, kind: str, name: str, ldef: LayerDef, syms: Syms, call: LayerCall
    ) -> object:
        if kind in ("Bidirectional", "TimeDistributed") and name == "layer":
            if not isinstance(expr, ast.Call):
                raise Unsupported(expr, f"{kind}: write the wrapped layer inside the call")
            call.inner, _ = self.layer(expr, syms)
            call.notes += call.inner.notes
            return call.inner.kind
        try:
            value = self.consts.eval(expr)
        except NotConstant:
            if name in ldef.sizes:
                return syms.add(expr, f"{snake_case(kind)}_{name}")
            raise Unsupported(expr, f"{kind}: {name}={self.text(expr)} is not a constant") from None
        return checked(value, kind, name, expr)

    def _const(self, expr: ast.expr, kind: str, name: str) -> object:
        try:
            return self.consts.eval(expr)
        except NotConstant:
            raise Unsupported(expr, f"{kind}: {name}= must be a constant") from None

    def _dim(self, expr: ast.expr, syms: Syms, fallback: str) -> Dim:
        try:
            value = self.consts.eval(expr)
        except NotConstant:
            return syms.add(expr, fallback)
        return _checked_dim(value, expr)

    def shape(self, expr: ast.expr, syms: Syms, batch: bool = False) -> tuple[Dim, ...]:
        """A Keras shape such as ``(28, 28, 1)``; entries the program computes become parameters."""
        if isinstance(expr, ast.Tuple | ast.List):
            items = expr.elts[1:] if batch else expr.elts
            names = ["in_features"] if len(items) == 1 else [f"input_dim{i}" for i in range(9)]
            return tuple(self._dim(e, syms, n) for e, n in zip(items, names, strict=False))
        try:
            value = self.consts.eval(expr)
        except NotConstant:
            if batch:
                raise Unsupported(expr, f"the shape {self.text(expr)} must be a tuple") from None
            return (ShapeSym(syms.add(expr, "input_shape")),)
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        if not isinstance(value, tuple | list) or not 0 < len(value) <= 9:
            raise Unsupported(expr, f"the shape {self.text(expr)} must be a tuple")
        return tuple(_checked_dim(d, expr) for d in (value[1:] if batch else value))

    def input_shape(self, call: ast.Call, syms: Syms) -> tuple[Dim, ...]:
        """The shape declared by ``keras.Input(...)`` or ``InputLayer(...)``."""
        given = dict(zip(("shape",), call.args, strict=False))
        given.update({k.arg: k.value for k in call.keywords if k.arg})
        for name in ("shape", "input_shape"):
            if name in given:
                return self.shape(given[name], syms)
        for name in ("batch_shape", "batch_input_shape"):
            if name in given:
                return self.shape(given[name], syms, batch=True)
        raise Unsupported(call, "keras.Input needs a shape")


def checked(value: object, kind: str, name: str, expr: ast.expr) -> object:
    """``value`` if it is what Keras expects for argument ``name`` of ``kind``; else a report
    item. Only values that pass get into the generated code (as literals)."""
    check = check_for(kind, name)
    if check is None:
        raise Unsupported(expr, f"{kind}: argument {name!r} is not supported")
    if not check.accepts(value):
        raise Unsupported(expr, f"{kind}: {name}={shown(value)} is not {check.expects}")
    return check.normalise(value)


def _checked_dim(value: object, expr: ast.expr) -> Dim:
    """One axis of a declared shape: a positive whole number, or None (any length)."""
    if value is None or (
        isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SIZE
    ):
        return value
    raise Unsupported(expr, f"a shape holds positive whole numbers or None, not {shown(value)}")
