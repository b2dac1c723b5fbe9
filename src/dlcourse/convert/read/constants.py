"""Evaluate layer arguments that are constants: literals, arithmetic, names bound to them."""

from __future__ import annotations

import ast
import contextlib
import operator
from typing import Any

from dlcourse.convert.read.names import Aliases

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_ACTIVATION_MODULES = ("keras.activations.", "tensorflow.nn.", "tensorflow.math.")


MAX_BITS = 256
"""Integers folded at conversion time stay below 2**256; larger ones are left to run time."""
MAX_ITEMS = 10_000
"""Strings, lists and tuples built by folding stay this short."""


class NotConstant(Exception):
    """The expression's value is only known when the program runs."""


def _check_size(expr: ast.BinOp, left: Any, right: Any) -> None:
    """Refuse to fold what would be huge (``10**10**7``, ``"a" * 10**9``): it stays code."""
    numbers = [v for v in (left, right) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == 2 and all(isinstance(v, int) for v in numbers):
        bits = [abs(v).bit_length() for v in numbers]
        if isinstance(expr.op, ast.Pow):
            if right > 0 and bits[0] * right > MAX_BITS:
                raise NotConstant(ast.unparse(expr))
        elif isinstance(expr.op, ast.Mult) and sum(bits) > MAX_BITS:
            raise NotConstant(ast.unparse(expr))
    if isinstance(expr.op, ast.Mult) and len(numbers) == 1:
        other = right if numbers[0] is left else left
        if isinstance(other, str | list | tuple) and len(other) * max(numbers[0], 0) > MAX_ITEMS:
            raise NotConstant(ast.unparse(expr))
    if isinstance(expr.op, ast.Pow) and isinstance(right, float | int) and abs(right) > MAX_BITS:
        raise NotConstant(ast.unparse(expr))


class Constants:
    """Names bound to constants in one scope (and its enclosing scope), in program order."""

    def __init__(self, aliases: Aliases, parent: Constants | None = None) -> None:
        self.aliases = aliases
        self.parent = parent
        self.values: dict[str, Any] = {}
        self.unknown: set[str] = set()

    def learn(self, stmt: ast.stmt) -> None:
        """Track ``NAME = constant``; any other binding of NAME makes it unknown again."""
        targets = bound_names(stmt)
        value: Any = None
        known = False
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            with contextlib.suppress(NotConstant):
                value, known = self.eval(stmt.value), True
        for name in targets:
            if known and len(targets) == 1:
                self.values[name] = value
                self.unknown.discard(name)
            else:
                self.values.pop(name, None)
                self.unknown.add(name)

    def lookup(self, name: str) -> Any:
        """The constant bound to ``name``; raises :class:`NotConstant` when there is none."""
        if name in self.values:
            return self.values[name]
        if name in self.unknown or self.parent is None:
            raise NotConstant(name)
        return self.parent.lookup(name)

    def eval(self, expr: ast.expr) -> Any:
        """The value of ``expr``; activations such as ``keras.activations.relu`` give ``"relu"``."""
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.Tuple | ast.List):
            items = [self.eval(e) for e in expr.elts]
            return tuple(items) if isinstance(expr, ast.Tuple) else items
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub | ast.UAdd):
            value = self.eval(expr.operand)
            return -value if isinstance(expr.op, ast.USub) else value
        if isinstance(expr, ast.BinOp) and type(expr.op) in _BINOPS:
            left, right = self.eval(expr.left), self.eval(expr.right)
            _check_size(expr, left, right)
            try:
                return _BINOPS[type(expr.op)](left, right)
            except (TypeError, ArithmeticError) as err:
                raise NotConstant(ast.unparse(expr)) from err
        dotted = self.aliases.resolve(expr)
        if dotted and dotted.startswith(_ACTIVATION_MODULES):
            return dotted.rsplit(".", 1)[1]
        if isinstance(expr, ast.Name) and not dotted:
            return self.lookup(expr.id)
        raise NotConstant(ast.unparse(expr))


def bound_names(stmt: ast.stmt) -> list[str]:
    """Names a statement (re)binds at its own level."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    names = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        names.append(stmt.name)
    return names
