"""Rewrite the Keras expressions inside one statement: model methods, datasets, callbacks."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from dlcourse.convert.ir import Unsupported
from dlcourse.convert.names import Aliases
from dlcourse.convert.training import callback_call, helper_call, pt_paths

# keras.datasets.X -> the course loader giving the same arrays, and how they differ.
LOADERS = {
    "fashion_mnist": ("load_fashion_mnist", "labels are int64 (Keras: uint8)"),
    "cifar10": ("load_cifar10", "labels are int64 of shape (N,) (Keras: uint8, (N, 1))"),
    "boston_housing": ("load_boston_housing", "float32 arrays (Keras: float64), same split"),
}
_KERAS_FIT_WORDS = {"epochs", "validation_split", "validation_data", "callbacks"}


def _expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


class ExpressionRewriter(ast.NodeTransformer):
    """Rewrites one statement's expressions; raises :class:`Unsupported` when it cannot.

    ``is_model(name)`` says whether a name holds a converted model; ``history`` holds the
    names bound to ``fit``'s result (``history.history`` becomes ``history``).
    """

    def __init__(self, aliases: Aliases, is_model: Callable[[str], bool], history: set[str]):
        self.aliases, self.is_model, self.history = aliases, is_model, history
        self.changed = False
        self.helpers: set[str] = set()
        self.imports: set[str] = set()
        self.notes: list[str] = []

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            var, method = func.value.id, func.attr
            if self.is_model(var):
                node.args = [self.visit(a) for a in node.args]
                node.keywords = [self.visit(k) for k in node.keywords]
                self.changed = True
                return self._model_method(var, method, node)
            if method in ("fit", "evaluate") and _KERAS_FIT_WORDS & {k.arg for k in node.keywords}:
                raise Unsupported(node, f"{var}.{method}: cannot tell which model {var} is")
        dotted = self.aliases.resolve(func) or ""
        match = re.fullmatch(r"keras\.datasets\.(\w+)\.load_data", dotted)
        if match:
            return self._load_data(match.group(1), node)
        name = dotted.rsplit(".", 1)[-1]
        if dotted in ("keras.callbacks.EarlyStopping", "keras.callbacks.ModelCheckpoint"):
            self.generic_visit(node)
            return self._helper(name, callback_call(name, node))
        if dotted == "keras.utils.to_categorical":
            self.generic_visit(node)
            return self._helper(
                name, ast.Call(ast.Name(name, ast.Load()), node.args, node.keywords)
            )
        if dotted == "tensorflow.random.set_seed":
            self.changed = True
            self.imports.add("import torch")
            return ast.Call(_expr("torch.manual_seed"), node.args, [])
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name):
            var = node.value.id
            if var in self.history and node.attr == "history":
                self.changed = True
                return node.value
            if self.is_model(var):
                raise Unsupported(node, f"{var}.{node.attr} has no converted equivalent")
        return self.generic_visit(node)

    def _helper(self, name: str, call: ast.Call) -> ast.Call:
        self.changed = True
        self.helpers.add(name)
        return call

    def _model_method(self, var: str, method: str, call: ast.Call) -> ast.AST:
        if method in ("fit", "evaluate", "predict"):
            return self._helper(method, helper_call(method, var, call))
        if method == "summary" and not call.args and not call.keywords:
            return self._helper(
                "summary",
                ast.Call(ast.Name("summary", ast.Load()), [ast.Name(var, ast.Load())], []),
            )
        if method in ("save", "save_weights") and len(call.args) == 1 and not call.keywords:
            path = call.args[0]
            pt_paths(path)
            self.imports.add("import torch")
            self.notes.append(f"{var}.{method}() saves the PyTorch state_dict (torch.save)")
            return ast.Call(_expr("torch.save"), [_expr(f"{var}.state_dict()"), path], [])
        if method == "count_params" and not call.args:
            return _expr(f"sum(p.numel() for p in {var}.parameters())")
        raise Unsupported(call, f"{var}.{method}() has no converted equivalent")

    def _load_data(self, dataset: str, call: ast.Call) -> ast.AST:
        loader, differences = LOADERS.get(dataset, ("", ""))
        if not loader:
            message = f"keras.datasets.{dataset}: no course loader gives the same data"
            raise Unsupported(call, message + "; load it yourself")
        if call.args or call.keywords:
            raise Unsupported(call, f"keras.datasets.{dataset}.load_data() with arguments")
        self.changed = True
        self.imports.add(f"from dlcourse.data import {loader}")
        self.notes.append(
            f"keras.datasets.{dataset} -> dlcourse.data.{loader}(): the same data in "
            f"Keras's layout; {differences}"
        )
        return _expr(f"{loader}().numpy_splits()")
