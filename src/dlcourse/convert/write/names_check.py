"""The check every conversion must pass: the generated code uses no name it does not define.

A statement the converter comments out takes its names with it; a use left live would raise
``NameError`` when the program runs. :func:`undefined_names` lists the names a program reads but
binds nowhere (and that are not builtins); the converter compares its output with its input.
"""

from __future__ import annotations

import ast
import builtins
import re

_MAGIC = re.compile(r"^\s*[%!]")
_ALWAYS = set(dir(builtins)) | {
    "__name__",
    "__file__",
    "__doc__",
    "__builtins__",
    "get_ipython",
    "display",
    "In",
    "Out",
}


def _tree(source: str) -> ast.Module | None:
    """A unit's tree, IPython magics blanked; None for a cell magic or unparsable text."""
    if source.lstrip().startswith("%%"):
        return None
    lines, skip = [], False
    for line in source.splitlines():
        blank = skip or bool(_MAGIC.match(line))
        lines.append("" if blank else line)
        skip = blank and line.rstrip().endswith("\\")
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def undefined_names(units: list[str]) -> dict[str, tuple[int, int]]:
    """Names read but never bound in ``units`` (a file, or a notebook's cells in order).

    Returns name -> (unit index, line) of its first read. The check is flow-insensitive (a
    name bound anywhere counts as defined), so it never reports a false alarm on valid code;
    a ``from x import *`` makes every name possibly defined, and then nothing is reported.
    """
    bound: set[str] = set(_ALWAYS)
    reads: dict[str, tuple[int, int]] = {}
    for index, source in enumerate(units):
        tree = _tree(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    reads.setdefault(node.id, (index, node.lineno))
                else:
                    bound.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        return {}
                    bound.add((alias.asname or alias.name).split(".")[0])
            elif (
                isinstance(node, ast.ExceptHandler)
                and node.name
                or isinstance(node, ast.MatchAs | ast.MatchStar)
                and node.name
            ):
                bound.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                bound.add(node.rest)
            elif isinstance(node, ast.Global | ast.Nonlocal):
                bound.update(node.names)
    return {name: where for name, where in reads.items() if name not in bound}


def read_line(source: str, name: str) -> int | None:
    """The line where ``source`` first reads ``name``, if it does."""
    tree = _tree(source)
    if tree is None:
        return None
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
    ]
    return min(reads, default=None)
