"""What a conversion tells its reader: errors that stop it, and the report of what it did."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loc:
    """A place in the input: a file or a notebook cell, and a line in it."""

    unit: str
    line: int

    def __str__(self) -> str:
        return f"{self.unit}, line {self.line}"

    def __lt__(self, other: Loc) -> bool:
        return self._key() < other._key()

    def _key(self) -> tuple[str, int, int]:
        """Input order: cell 2 before cell 12."""
        match = re.fullmatch(r"(.*?)(\d+)", self.unit)
        if match:
            return match.group(1), int(match.group(2)), self.line
        return self.unit, 0, self.line


class ConvertError(Exception):
    """A conversion that cannot go on (bad input, weights that do not fit); nothing is written."""


@dataclass(frozen=True)
class Issue:
    """One line of the report: a construct left as it was, or a note on what changed."""

    loc: Loc
    message: str
    converted: bool
    cause: Loc | None = None
    """For an item that only follows from another (a use of a name that was not converted):
    where that root item is. The report lists it under its root, not as an item of its own."""


@dataclass
class Report:
    """Everything the reader must check after a conversion, in input order."""

    issues: list[Issue] = field(default_factory=list)
    keras_found: bool = True
    """False when the input uses no Keras at all (the report then says so)."""

    def not_converted(self, loc: Loc, message: str, cause: Loc | None = None) -> None:
        """Record a construct left in place (commented out) for the reader to port by hand.

        ``cause``: the root item's location when this one only follows from it.
        """
        if cause == loc:
            cause = None
        self._add(Issue(loc, message, converted=False, cause=cause))

    def note(self, loc: Loc, message: str) -> None:
        """Record a converted construct whose behaviour the reader should know about."""
        self._add(Issue(loc, message, converted=True))

    def _add(self, issue: Issue) -> None:
        if issue not in self.issues:
            self.issues.append(issue)

    @property
    def left(self) -> list[Issue]:
        """Every construct that was not converted, root causes and what follows from them."""
        return sorted((i for i in self.issues if not i.converted), key=lambda i: i.loc)

    @property
    def roots(self) -> list[tuple[Issue, list[Loc]]]:
        """One item per root cause, with the other places it affects (in input order)."""
        left = self.left
        root_locs = {i.loc for i in left if i.cause is None}
        affected: dict[Loc, list[Loc]] = {}
        for issue in left:
            if issue.cause is not None and issue.cause in root_locs:
                places = affected.setdefault(issue.cause, [])
                if issue.loc not in places:
                    places.append(issue.loc)
        seen: set[Loc] = set()
        result = []
        for issue in left:
            if issue.cause is not None and issue.cause in root_locs:
                continue
            places = [] if issue.loc in seen else affected.get(issue.loc, [])
            seen.add(issue.loc)
            result.append((issue, places))
        return result

    @property
    def notes(self) -> list[Issue]:
        """The notes on converted constructs."""
        return sorted((i for i in self.issues if i.converted), key=lambda i: i.loc)

    def _grouped_roots(self) -> list[tuple[Issue, list[Loc], str]]:
        """The roots; those of one message with nothing following them make one item."""
        result: list[tuple[Issue, list[Loc], str]] = []
        first: dict[str, int] = {}
        for issue, places in self.roots:
            k = first.get(issue.message)
            if k is not None and not places:
                result[k][1].append(issue.loc)
                continue
            if not places:
                first[issue.message] = len(result)
            result.append((issue, list(places), "" if places else "also"))
        return result

    def _grouped_notes(self) -> list[tuple[Issue, list[Loc]]]:
        """One line per note message, with every other place it applies to."""
        grouped: dict[str, tuple[Issue, list[Loc]]] = {}
        for issue in self.notes:
            if issue.message in grouped:
                grouped[issue.message][1].append(issue.loc)
            else:
                grouped[issue.message] = (issue, [])
        return list(grouped.values())

    def to_text(self) -> str:
        """The report as plain text, for the terminal and for a ``.py`` output."""
        roots, notes = self._grouped_roots(), self._grouped_notes()
        lines = [f"Conversion report: {len(roots)} not converted, {len(notes)} notes."]
        if roots:
            lines.append(
                "Not converted (port by hand; code that could not be converted is commented out):"
            )
            lines += [f"  - {_item(i, places, also)}" for i, places, also in roots]
        if notes:
            lines.append("Notes on what was converted:")
            lines += [f"  - {_item(i, places, 'also')}" for i, places in notes]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as the last markdown cell of a converted notebook."""
        parts = ["## Conversion report (`dlcourse convert`)", ""]
        roots, notes = self._grouped_roots(), self._grouped_notes()
        if not self.keras_found:
            parts.append("This notebook uses no Keras: nothing was converted.")
        elif roots:
            parts += [
                "**Not converted**: port these by hand (code that could not be converted is "
                "left in place, commented out):",
                "",
            ]
            parts += [f"- {_item(i, places, also)}" for i, places, also in roots]
        else:
            parts.append("Every Keras construct in this notebook was converted.")
        if notes:
            parts += ["", "**Notes on what was converted:**", ""]
            parts += [f"- {_item(i, places, 'also')}" for i, places in notes]
        return "\n".join(parts)


def _item(issue: Issue, places: list[Loc], also: str = "") -> str:
    """One report line: where, what, and the other places that follow from the same cause
    (``also``: the same message at other places)."""
    text = f"{issue.loc}: {issue.message}"
    if places:
        same = all(p.unit == issue.loc.unit for p in places)
        where = ", ".join(f"line {p.line}" if same else str(p) for p in places)
        text += f"; also at: {where}" if also else f"; also commented out for this reason: {where}"
    return " ".join(text.split())
