"""Line edits on the units: statements replaced, removed, commented out; blocks inserted.

Only the lines of edited statements change, so comments and layout elsewhere survive.
"""

from __future__ import annotations

import ast
import re

from dlcourse.convert.read.units import Unit


def first_line(stmt: ast.stmt) -> int:
    """A statement's first line, decorators included."""
    decorators = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno, *(d.lineno for d in decorators)])


class Edits:
    """The pending edits of a set of units; :meth:`render` applies them."""

    def __init__(self, units: list[Unit]) -> None:
        self.units = units
        self.unit_of: dict[int, int] = {}
        self.blocks: dict[int, list[ast.stmt]] = {}
        self.replaced: dict[int, tuple[list[str], ast.stmt]] = {}
        self.inserts: dict[tuple[int, int], list[tuple[int, list[str]]]] = {}
        self.line_edits: dict[tuple[int, int], str] = {}

    def register(self, stmt: ast.stmt, unit: int, block: list[ast.stmt]) -> None:
        """Remember which unit and block ``stmt`` belongs to."""
        self.unit_of[id(stmt)] = unit
        self.blocks[id(block)] = block

    def one_line(self, stmt: ast.stmt) -> str:
        """The statement's source on one short line, for comments."""
        unit = self.units[self.unit_of[id(stmt)]]
        text = " ".join((unit.segment(stmt) or ast.unparse(stmt)).split())
        return text if len(text) <= 80 else text[:77] + "..."

    def replace(self, stmt: ast.stmt, lines: list[str]) -> None:
        """Put ``lines`` (indented like ``stmt``) in place of ``stmt``; [] removes it."""
        self.replaced[id(stmt)] = (lines, stmt)

    def replace_line(self, stmt: ast.stmt, text: str) -> None:
        """Rewrite only the first line of ``stmt`` (a class header), keeping its body's edits."""
        self.line_edits[(self.unit_of[id(stmt)], stmt.lineno)] = text

    def replace_unit_line(self, unit: int, line: int, text: str) -> None:
        """Rewrite one line of a unit (a decorator on its own line), keeping the other edits."""
        self.line_edits[(unit, line)] = text

    def comment_out(self, stmt: ast.stmt, message: str) -> None:
        """Keep ``stmt`` as comments under a ``# NOT CONVERTED: message`` line."""
        lines = self.units[self.unit_of[id(stmt)]].lines
        start = first_line(stmt)
        indent = lines[start - 1][: len(lines[start - 1]) - len(lines[start - 1].lstrip())]
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[start - 1 : stmt.end_lineno]
        ]
        message = " ".join(message.split())  # one comment line, whatever the message holds
        self.replace(stmt, [f"# NOT CONVERTED: {message}", *(f"# {line}" for line in body)])

    def insert(self, unit: int, top: ast.stmt, order: int, lines: list[str]) -> None:
        """Insert ``lines`` before the top-level statement ``top``; lower ``order`` first."""
        self.inserts.setdefault((unit, first_line(top)), []).append((order, lines))

    def _gone(self, stmt: ast.stmt) -> bool:
        lines = self.replaced.get(id(stmt), (None,))[0]
        return lines is not None and all(not line or line.startswith("#") for line in lines)

    def fill_empty_blocks(self) -> None:
        """Give ``pass`` to indented blocks whose every statement was removed or commented."""
        for block in self.blocks.values():
            top_level = any(u.tree is not None and block is u.tree.body for u in self.units)
            if top_level or not all(self._gone(s) for s in block):
                continue
            last = block[-1]
            lines = self.replaced[id(last)][0] if id(last) in self.replaced else []
            self.replace(last, [*lines, "pass"])

    def render(self, u: int) -> str:
        """The text of unit ``u`` with its edits applied."""
        unit = self.units[u]
        if unit.tree is None:
            return unit.source
        lines = unit.lines
        starts = {
            first_line(stmt): (new, stmt)
            for new, stmt in self.replaced.values()
            if self.unit_of[id(stmt)] == u
        }
        out: list[str] = []
        number = 1
        while number <= len(lines):
            for _, block in sorted(self.inserts.get((u, number), []), key=lambda item: item[0]):
                out += block
            if number in starts:
                new, stmt = starts[number]
                text = lines[number - 1]
                indent = text[: len(text) - len(text.lstrip())]
                out += [f"{indent}{line}" if line else "" for line in new]
                number = stmt.end_lineno + 1  # type: ignore[operator]
            else:
                out.append(self.line_edits.get((u, number), lines[number - 1]))
                number += 1
        text = re.sub(r"\n{4,}", "\n\n\n", "\n".join(out)).strip("\n")
        return text + "\n" if unit.source.endswith("\n") else text
