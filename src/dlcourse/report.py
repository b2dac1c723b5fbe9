"""Metric recording for notebooks: ``record(name=value)`` prints, and the runner collects."""

from __future__ import annotations

import json
import math
import os
from numbers import Real

from dlcourse.config import RECORD_ENV


def _clean(name: str, value: object) -> float | int | str:
    if isinstance(value, bool) or not isinstance(value, Real | str):
        item = getattr(value, "item", None)
        if item is None:
            raise TypeError(f"metric {name!r} must be a number or a string, not {type(value)!r}")
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value  # type: ignore[return-value]


def record(**metrics: object) -> None:
    """Record named results, e.g. ``record(test_accuracy=0.91)``.

    Always prints them; under ``dlcourse run`` they are also appended to the file named by
    ``DLCOURSE_RECORD_FILE`` and end up in ``results.json`` and the HTML report.
    """
    cleaned = {name: _clean(name, value) for name, value in metrics.items()}
    for name, value in cleaned.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"[record] {name} = {shown}")
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(cleaned) + "\n")
