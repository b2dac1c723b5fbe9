"""One record per executed notebook, and ``results.json``: read, merge, write."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
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


def machine_info(device: str) -> dict[str, str]:
    """What a run ran on and with: the time it was written, processor, cores, OS, device, and
    the versions of Python, torch and dlcourse (``run.json``, shown by the website)."""
    import torch

    import dlcourse

    return {
        "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "processor": _processor(),
        "cores": str(os.cpu_count() or "?"),
        "os": platform.platform(terse=True),
        "device": device,
        "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "dlcourse": dlcourse.__version__,
    }


def _processor() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` on Linux), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def save_machine_info(info: Mapping[str, str], path: Path) -> None:
    """Write ``run.json`` atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(dict(info), indent=2) + "\n", encoding="utf-8")


def load_machine_info(path: Path) -> dict[str, str]:
    """``run.json`` as written by :func:`save_machine_info`; empty when missing or unreadable."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
