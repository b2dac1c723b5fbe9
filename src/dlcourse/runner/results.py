"""One record per executed notebook, and ``results.json``: read, merge, write."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlcourse.atomic import atomic_file
from dlcourse.runner.errors import RunnerError

Metric = float | int | str


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook run went; ``notebook`` is its name like ``PyTorch/01_Basics/00_x.ipynb``.

    ``status`` is ``"ok"``, ``"failed"``, ``"timeout"`` (a cell or the whole notebook ran past
    its time limit) or ``"interrupted"`` (Ctrl-C); ``warnings`` are about its metrics record
    (lines that could not be read) and about output cut from cells.
    """

    notebook: str
    mode: str
    status: str
    seconds: float
    device: str
    metrics: dict[str, Metric] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every cell ran without an error."""
        return self.status == "ok"

    def to_json(self) -> dict[str, object]:
        """The ``results.json`` record; ``error`` only for failures, ``warnings`` when any."""
        data = asdict(self)
        if self.error is None:
            del data["error"]
        if not self.warnings:
            del data["warnings"]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> NotebookResult:
        """Inverse of :meth:`to_json`."""
        return cls(**data)  # type: ignore[arg-type]


def load_results(path: Path) -> list[NotebookResult]:
    """The records in ``path``, or none when it does not exist yet."""
    if not path.exists():
        return []
    try:
        return [NotebookResult.from_json(item) for item in json.loads(path.read_text("utf-8"))]
    except (ValueError, TypeError) as err:
        raise RunnerError(
            f"{path} is not a results file written by dlcourse run ({err}); "
            "delete it or choose another --out folder"
        ) from None


def merge_results(
    old: Iterable[NotebookResult], new: Iterable[NotebookResult]
) -> list[NotebookResult]:
    """``old`` with the notebooks in ``new`` replaced or added, sorted by notebook."""
    merged = {r.notebook: r for r in old}
    merged.update((r.notebook, r) for r in new)
    return [merged[name] for name in sorted(merged)]


def save_results(results: Iterable[NotebookResult], path: Path) -> None:
    """Write ``results.json``, a list of records, atomically (a crash leaves the old file)."""
    text = json.dumps([r.to_json() for r in results], indent=2) + "\n"
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
