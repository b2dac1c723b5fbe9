"""Training curves of Keras originals, run in Keras itself by ``benchmarks/``.

A notebook that reproduces a Keras run compares its own curves with these. Each JSON file
says what was run, the command, the date and the Keras version.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def keras_run(name: str) -> dict[str, Any]:
    """The stored record ``<name>.json``: ``runs`` maps each seed to ``loss``/``val_loss``."""
    files = resources.files(__name__)
    path = files / f"{name}.json"
    if not path.is_file():
        known = sorted(
            f.name.removesuffix(".json") for f in files.iterdir() if f.name.endswith(".json")
        )
        raise FileNotFoundError(
            f"no stored Keras run {name!r}; there are: {', '.join(known) or 'none'}"
        )
    return json.loads(path.read_text())
