"""``run_notebooks``: execute notebooks one after another, then write the report."""

from __future__ import annotations

import sys
import tempfile
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
    not stop the others; its error goes to stderr. Ctrl-C stops the run: the running notebook's
    kernel is shut down, it is recorded as ``"interrupted"``, the report is written, and no
    further notebook starts (the last result then has status ``"interrupted"``; a second
    Ctrl-C raises ``KeyboardInterrupt`` after writing the report). Returns this run's results,
    in order. Raises :class:`RunnerError` on bad input (including an unusable ``out``), before
    anything runs.
    """
    notebooks = _checked(paths)
    names = _unique_names(notebooks)
    try:
        device = str(get_device())
    except ValueError as err:
        raise RunnerError(str(err)) from None
    out = Path(out)
    _check_out(out)
    results_path = out / RESULTS_FILE
    earlier = load_results(results_path)
    mode = "quick" if quick else "full"
    done: list[NotebookResult] = []
    try:
        for number, (path, name) in enumerate(zip(notebooks, names, strict=True), 1):
            prefix = f"[{number}/{len(notebooks)}] {name}"
            print(f"{prefix} ({mode}) ...", flush=True)
            result = _run_one(path, name, mode=mode, device=device, out=out, timeout=timeout)
            done.append(result)
            print(f"{prefix} ... {result.status} ({result.seconds:.1f} s)", flush=True)
            for warning in result.warnings:
                print(f"WARNING {name}: {warning}", file=sys.stderr, flush=True)
            if result.error:
                label = "INTERRUPTED" if result.status == "interrupted" else "FAILED"
                print(f"{label} {name}: {result.error}", file=sys.stderr, flush=True)
            _write_report(merge_results(earlier, done), out)
            if result.status == "interrupted":
                break
    except KeyboardInterrupt:
        _write_report(merge_results(earlier, done), out)
        raise
    return done


def _run_one(
    path: Path, name: str, *, mode: str, device: str, out: Path, timeout: int
) -> NotebookResult:
    run = execute_notebook(path, quick=mode == "quick", timeout=timeout)
    if run.notebook is not None:
        save_executed(run.notebook, path, out / output_relpath(name))
    status = "interrupted" if run.interrupted else "ok" if run.error is None else "failed"
    return NotebookResult(
        notebook=name,
        mode=mode,
        status=status,
        seconds=round(run.seconds, 2),
        device=device,
        metrics=run.metrics,
        error=run.error,
        warnings=list(run.warnings),
    )


def _write_report(results: list[NotebookResult], out: Path) -> None:
    save_results(results, out / RESULTS_FILE)
    write_index(results, out)


def _check_out(out: Path) -> None:
    """Make sure the report folder exists and can be written, before any notebook runs."""
    if out.exists() and not out.is_dir():
        raise RunnerError(f"--out {out} is a file, not a folder; choose a folder for the report")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise RunnerError(
            f"--out {out} cannot be written ({err.strerror or err}); choose a folder you can "
            "write to"
        ) from None


def _unique_names(notebooks: list[Path]) -> list[str]:
    """Each notebook's report name; refuses two notebooks whose outputs would overwrite each
    other (same name from different folders)."""
    names = [display_name(path) for path in notebooks]
    seen: dict[str, Path] = {}
    for path, name in zip(notebooks, names, strict=True):
        key = output_relpath(name).as_posix()
        if key in seen:
            raise RunnerError(
                f"{seen[key]} and {path} would both be reported as {name} and overwrite each "
                "other's outputs and results; run them separately with different --out "
                "folders, or from a folder that holds both"
            )
        seen[key] = path
    return names


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
