"""Which names in the source stand for Keras (and TensorFlow), whatever they were imported as."""

from __future__ import annotations

import ast

KERAS_ROOTS = ("keras", "tensorflow", "tf_keras", "keras_hub", "keras_nlp", "keras_cv")

_RENAMES = {
    "keras.models.Sequential": "keras.Sequential",
    "keras.models.Model": "keras.Model",
    "keras.layers.Input": "keras.Input",
    "keras.layers.InputLayer": "keras.layers.InputLayer",
}


def canonical(dotted: str) -> str:
    """One spelling per API: ``tf.keras.layers.core.Dense`` -> ``keras.layers.Dense``."""
    parts = dotted.split(".")
    if parts[0] == "tensorflow" and len(parts) > 1 and parts[1] == "keras":
        parts = parts[1:]
    elif parts[0] == "tf_keras":
        parts[0] = "keras"
    if parts[:2] == ["keras", "layers"] and len(parts) > 3:
        parts = ["keras", "layers", parts[-1]]
    name = ".".join(parts)
    return _RENAMES.get(name, name)


def is_keras_module(module: str) -> bool:
    """True for ``keras``, ``tensorflow`` and their submodules."""
    return module.split(".")[0] in KERAS_ROOTS


class Aliases:
    """Local names bound by Keras/TensorFlow imports, and what they stand for."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def add(self, stmt: ast.Import | ast.ImportFrom) -> list[ast.alias]:
        """Learn the Keras names a statement imports; return its other (kept) aliases."""
        kept = []
        for alias in stmt.names:
            if isinstance(stmt, ast.Import):
                module = alias.name
                if not is_keras_module(module):
                    kept.append(alias)
                    continue
                local = alias.asname or module.split(".")[0]
                self.names[local] = canonical(module if alias.asname else local)
            else:
                module = stmt.module or ""
                if stmt.level or not is_keras_module(module):
                    kept.append(alias)
                    continue
                self.names[alias.asname or alias.name] = canonical(f"{module}.{alias.name}")
        return kept

    def resolve(self, expr: ast.AST) -> str | None:
        """The canonical dotted name of ``expr`` when it is a Keras attribute chain, else None."""
        parts = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name) or expr.id not in self.names:
            return None
        return canonical(".".join([self.names[expr.id], *reversed(parts)]))

    def first_use(self, tree: ast.AST) -> tuple[ast.AST, str] | None:
        """The first Keras name used in ``tree`` (its node and dotted name), if any."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                continue  # `tf = None` rebinds the name: no Keras is used
            if getattr(node, "converted", False):
                continue  # the converted code's own helper, named like Keras's function
            if isinstance(node, ast.Attribute | ast.Name):
                name = self.resolve(node)
                if name:
                    return node, name
        return None
