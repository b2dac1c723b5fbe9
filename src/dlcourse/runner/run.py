"""``run_notebooks``: execute notebooks one after another, then write the report."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from dlcourse.config import get_device
from dlcourse.runner.errors import RunnerError
from dlcourse.runner.execute import execute_notebook
from dlcourse.runner.paths import display_name, output_relpath
from dlcourse.runner.render import save_executed
from dlcourse.runner.report_html import write_index
from dlcourse.runner.results import NotebookResult, load_results, merge_results, save_results

RESULTS_FILE = "results.json"


def run_notebooks(
    paths: Iterable[Path | str], *, quick: bool, out: Path, timeout: int
) -> list[NotebookResult]:
    """Execute each notebook, save it executed (``.ipynb`` and ``.html``) under ``out``, and
    keep ``out/results.json`` and ``out/index.html`` up to date after each one.

    Records of other notebooks already in ``results.json`` are kept. A failing notebook does
    not stop the others; its error goes to stderr. Returns this run's results, in order.
    Raises :class:`RunnerError` on bad input, before anything runs.
    """
    notebooks = _checked(paths)
    try:
        device = str(get_device())
    except ValueError as err:
        raise RunnerError(str(err)) from None
    out = Path(out)
    results_path = out / RESULTS_FILE
    earlier = load_results(results_path)
    mode = "quick" if quick else "full"
    done: list[NotebookResult] = []
    for number, path in enumerate(notebooks, 1):
        name = display_name(path)
        prefix = f"[{number}/{len(notebooks)}] {name}"
        print(f"{prefix} ({mode}) ...", flush=True)
        run = execute_notebook(path, quick=quick, timeout=timeout)
        if run.notebook is not None:
            save_executed(run.notebook, path, out / output_relpath(name))
        result = NotebookResult(
            notebook=name,
            mode=mode,
            status="ok" if run.error is None else "failed",
            seconds=round(run.seconds, 2),
            device=device,
            metrics=run.metrics,
            error=run.error,
        )
        done.append(result)
        print(f"{prefix} ... {result.status} ({result.seconds:.1f} s)", flush=True)
        if result.error:
            print(f"FAILED {name}: {result.error}", file=sys.stderr, flush=True)
        merged = merge_results(earlier, done)
        save_results(merged, results_path)
        write_index(merged, out)
    return done


def _checked(paths: Iterable[Path | str]) -> list[Path]:
    """The notebooks as paths, each once; all of them must be existing ``.ipynb`` files."""
    notebooks = list(dict.fromkeys(Path(p).resolve() for p in paths))
    if not notebooks:
        raise RunnerError("no notebooks to run")
    bad = [str(p) for p in notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if bad:
        raise RunnerError(
            f"not a notebook file: {', '.join(bad)}; name existing .ipynb files (or use --all)"
        )
    return notebooks
