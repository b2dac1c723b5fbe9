"""One record per executed notebook, and ``results.json``: read, merge, write."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlcourse.runner.errors import RunnerError

Metric = float | int | str


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook run went; ``notebook`` is its name like ``PyTorch/01_Basics/00_x.ipynb``."""

    notebook: str
    mode: str
    status: str
    seconds: float
    device: str
    metrics: dict[str, Metric] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every cell ran without an error."""
        return self.status == "ok"

    def to_json(self) -> dict[str, object]:
        """The ``results.json`` record; ``error`` only for failures."""
        data = asdict(self)
        if self.error is None:
            del data["error"]
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
    """Write ``results.json``: a list of records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [r.to_json() for r in results]
    path.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
