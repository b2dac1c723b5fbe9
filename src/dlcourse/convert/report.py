"""What a conversion tells its reader: errors that stop it, and the report of what it did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Loc:
    """A place in the input: a file or a notebook cell, and a line in it."""

    unit: str
    line: int

    def __str__(self) -> str:
        return f"{self.unit}, line {self.line}"


class ConvertError(Exception):
    """A conversion that cannot go on (bad input, weights that do not fit); nothing is written."""


@dataclass(frozen=True)
class Issue:
    """One line of the report: a construct left as it was, or a note on what changed."""

    loc: Loc
    message: str
    converted: bool


@dataclass
class Report:
    """Everything the reader must check after a conversion, in input order."""

    issues: list[Issue] = field(default_factory=list)

    def not_converted(self, loc: Loc, message: str) -> None:
        """Record a construct left in place (commented out) for the reader to port by hand."""
        self._add(Issue(loc, message, converted=False))

    def note(self, loc: Loc, message: str) -> None:
        """Record a converted construct whose behaviour the reader should know about."""
        self._add(Issue(loc, message, converted=True))

    def _add(self, issue: Issue) -> None:
        if issue not in self.issues:
            self.issues.append(issue)

    @property
    def left(self) -> list[Issue]:
        """The constructs that were not converted."""
        return sorted((i for i in self.issues if not i.converted), key=lambda i: i.loc)

    @property
    def notes(self) -> list[Issue]:
        """The notes on converted constructs."""
        return sorted((i for i in self.issues if i.converted), key=lambda i: i.loc)

    def to_text(self) -> str:
        """The report as plain text, for the terminal and for a ``.py`` output."""
        lines = [f"Conversion report: {len(self.left)} not converted, {len(self.notes)} notes."]
        if self.left:
            lines.append(
                "Not converted (port by hand; code that could not be converted is commented out):"
            )
            lines += [f"  - {i.loc}: {i.message}" for i in self.left]
        if self.notes:
            lines.append("Notes on what was converted:")
            lines += [f"  - {i.loc}: {i.message}" for i in self.notes]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as the last markdown cell of a converted notebook."""
        parts = ["## Conversion report (`dlcourse convert`)", ""]
        if self.left:
            parts += [
                "**Not converted**: port these by hand (code that could not be converted is "
                "left in place, commented out):",
                "",
            ]
            parts += [f"- {i.loc}: {i.message}" for i in self.left]
        else:
            parts.append("Every Keras construct in this notebook was converted.")
        if self.notes:
            parts += ["", "**Notes on what was converted:**", ""]
            parts += [f"- {i.loc}: {i.message}" for i in self.notes]
        return "\n".join(parts)
