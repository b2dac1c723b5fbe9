"""The pieces of input converted together: a ``.py`` file, or each code cell of a notebook.

Edits are made line by line, so every statement must own its lines. Statements that share a
line (``a = 1; b = 2``, ``if ok: model.summary()``) are first rewritten one per line; the
report still gives their original line numbers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cached_property

from dlcourse.convert.report import ConvertError, Loc

_MAGIC = re.compile(r"^\s*[%!]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
"""One line with its end, split only at \\r\\n, \\r or \\n, as Python's tokenizer does."""


@dataclass
class Unit:
    """Source converted as one piece: a ``.py`` file, or one notebook code cell."""

    label: str
    source: str
    tree: ast.Module | None
    """None for a cell run by a cell magic (``%%bash``...): it is left as it is."""
    origin_lines: list[int] = field(default_factory=list)
    """The original line of each line of ``source``, when statements were split (else empty)."""

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @cached_property
    def _raw_lines(self) -> list[bytes]:
        """The source's lines as Python's tokenizer splits them, in UTF-8 (the unit of
        ``col_offset``), each split once rather than for every node."""
        return [line.encode() for line in _LINE.findall(self.source)]

    def segment(self, node: ast.AST) -> str | None:
        """The source text of ``node`` (like ``ast.get_source_segment``, in linear time)."""
        try:
            first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined,operator]
            start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        except (AttributeError, TypeError):
            return None
        lines = self._raw_lines
        if end is None or not 0 <= first <= last < len(lines):
            return None
        if first == last:
            return lines[first][start:end].decode(errors="replace")
        parts = [lines[first][start:], *lines[first + 1 : last], lines[last][:end]]
        return b"".join(parts).decode(errors="replace")

    def loc(self, node: ast.AST) -> Loc:
        """Where ``node`` was in the original input."""
        line = getattr(node, "lineno", 0)
        if self.origin_lines and 0 < line <= len(self.origin_lines):
            line = self.origin_lines[line - 1]
        return Loc(self.label, line)


def parse_unit(label: str, source: str, origin: str, notebook: bool) -> Unit:
    """Parse one unit; IPython magics (``%...``, ``!...``) are kept but not parsed."""
    if notebook and source.lstrip().startswith("%%"):
        return Unit(label, source, None)
    tree = _parse(label, source, origin, notebook)
    split = _split_shared_lines(source, tree)
    if split is None:
        return Unit(label, source, tree)
    text, origin_lines = split
    return Unit(label, text, _parse(label, text, origin, notebook), origin_lines)


def _parse(label: str, source: str, origin: str, notebook: bool) -> ast.Module:
    text = source
    if notebook:  # a magic line, and the lines it continues with a final backslash
        lines, continued = [], False
        for line in source.splitlines():
            magic = continued or bool(_MAGIC.match(line))
            lines.append("" if continued else re.sub(r"\S.*", "pass", line) if magic else line)
            continued = magic and line.rstrip().endswith("\\")
        text = "\n".join(lines)
    try:
        return ast.parse(text)
    except SyntaxError as err:
        where = label if label == origin else f"{origin}, {label}"
        raise ConvertError(
            f"{where}, line {err.lineno}: invalid Python syntax ({err.msg}); "
            "fix it (the input must run under Keras) and convert again"
        ) from None


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested directly in ``stmt``."""
    blocks = [getattr(stmt, name, []) for name in ("body", "orelse", "finalbody")]
    blocks += [h.body for h in getattr(stmt, "handlers", [])]
    blocks += [c.body for c in getattr(stmt, "cases", [])]
    return [b for b in blocks if b and isinstance(b[0], ast.stmt)]


def _split_shared_lines(source: str, tree: ast.Module) -> tuple[str, list[int]] | None:
    """``source`` with statements that share lines rewritten one per line, and the line map."""
    lines = source.splitlines()

    def owns_first_line(stmt: ast.stmt) -> bool:
        return not lines[stmt.lineno - 1][: stmt.col_offset].strip()

    spans: list[list[ast.stmt]] = []

    def visit(block: list[ast.stmt]) -> None:
        i = 0
        while i < len(block):
            group = [block[i]]
            while i + 1 < len(block) and block[i + 1].lineno <= group[-1].end_lineno:  # type: ignore[operator]
                i += 1
                group.append(block[i])
            inline = any(not owns_first_line(b[0]) for s in group for b in _blocks(s))
            if len(group) > 1 or inline:
                spans.append(group)
            else:
                for child in _blocks(group[0]):
                    visit(child)
            i += 1

    visit(tree.body)
    if not spans:
        return None
    starts = {group[0].lineno: group for group in spans}
    out: list[str] = []
    origin: list[int] = []
    number = 1
    while number <= len(lines):
        group = starts.get(number)
        if group is None:
            out.append(lines[number - 1])
            origin.append(number)
            number += 1
            continue
        indent = lines[number - 1][: group[0].col_offset]
        for stmt in group:
            for line in ast.unparse(stmt).splitlines():
                out.append(indent + line)
                origin.append(stmt.lineno)
        number = max(s.end_lineno for s in group) + 1  # type: ignore[type-var]
    return "\n".join(out) + "\n", origin
