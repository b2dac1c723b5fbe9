"""``run_notebooks``: execute notebooks one after another, then write the report."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from dlcourse import course
from dlcourse.config import get_device
from dlcourse.runner.errors import RunnerError
from dlcourse.runner.execute import Execution, execute_notebook
from dlcourse.runner.figures import save_thumbnail, thumbnail_relpath
from dlcourse.runner.lock import LOCK_FILE, out_lock
from dlcourse.runner.outputs import DEFAULT_MAX_OUTPUT_MB
from dlcourse.runner.paths import display_name, output_relpath
from dlcourse.runner.render import save_executed
from dlcourse.runner.report_html import INDEX_FILE, write_index
from dlcourse.runner.results import (
    NotebookResult,
    load_results,
    machine_info,
    merge_results,
    save_machine_info,
    save_results,
)

RESULTS_FILE = "results.json"
RUN_FILE = "run.json"
_LABELS = {"interrupted": "INTERRUPTED", "timeout": "TIMEOUT"}


def run_notebooks(
    paths: Iterable[Path | str],
    *,
    quick: bool,
    out: Path,
    timeout: int,
    max_output_mb: float = DEFAULT_MAX_OUTPUT_MB,
    notebook_timeout: float | None = None,
) -> list[NotebookResult]:
    """Execute each notebook, save it executed (``.ipynb`` and ``.html``) under ``out``, and
    keep ``out/results.json`` and ``out/index.html`` up to date after each one.

    One run at a time writes into ``out``: a second one waits for the first to end (saying so
    on stderr), then adds its records. Records of other notebooks already in
    ``results.json`` are kept; a notebook run again replaces its record. A failing notebook
    does not stop the others; its error goes to stderr. ``timeout`` limits each cell and
    ``notebook_timeout`` each whole notebook (seconds; a notebook past it is stopped and
    recorded as ``"timeout"``); each cell keeps at most ``max_output_mb`` MB of output.
    Ctrl-C stops the run: the running notebook's kernel is shut down, it is recorded as
    ``"interrupted"``, the report is written, and no further notebook starts (the last result
    then has status ``"interrupted"``; a second Ctrl-C raises ``KeyboardInterrupt`` after
    writing the report). Returns this run's results, in order. Raises :class:`RunnerError` on
    bad input (including an unusable ``out``, or one where a notebook's executed copy would
    overwrite a notebook being run), before anything runs.
    """
    notebooks = _checked(paths)
    names = _unique_names(notebooks)
    try:
        device = str(get_device())
    except ValueError as err:
        raise RunnerError(str(err)) from None
    out = Path(out)
    _check_inputs_kept(notebooks, names, out)
    _check_out(out)
    mode = "quick" if quick else "full"
    done: list[NotebookResult] = []
    with _locked(out):
        earlier = load_results(out / RESULTS_FILE)  # read under the lock: no run writes it now
        try:
            for number, (path, name) in enumerate(zip(notebooks, names, strict=True), 1):
                prefix = f"[{number}/{len(notebooks)}] {name}"
                print(f"{prefix} ({mode}) ...", flush=True)
                run = execute_notebook(
                    path,
                    quick=quick,
                    timeout=timeout,
                    max_output_mb=max_output_mb,
                    notebook_timeout=notebook_timeout,
                )
                result = _record(run, path, name, mode=mode, device=device, out=out)
                done.append(result)
                print(f"{prefix} ... {result.status} ({result.seconds:.1f} s)", flush=True)
                for warning in result.warnings:
                    print(f"WARNING {name}: {warning}", file=sys.stderr, flush=True)
                if result.error:
                    label = _LABELS.get(result.status, "FAILED")
                    print(f"{label} {name}: {result.error}", file=sys.stderr, flush=True)
                _write_report(merge_results(earlier, done), out, device)
                if result.status == "interrupted":
                    break
        except KeyboardInterrupt:
            _write_report(merge_results(earlier, done), out, device)
            raise
    return done


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the report folder's lock; a run that has to wait says so on stderr."""

    def say(message: str) -> None:
        print(f"dlcourse run: {message}", file=sys.stderr, flush=True)

    with ExitStack() as stack:
        try:
            stack.enter_context(out_lock(out, on_wait=say))
        except OSError as err:
            raise RunnerError(
                f"--out {out} cannot be locked ({err.strerror or err}); choose a folder you "
                "can write to"
            ) from None
        yield


def _record(
    run: Execution, path: Path, name: str, *, mode: str, device: str, out: Path
) -> NotebookResult:
    """Save the executed notebook (when it could be read) and make its record."""
    if run.notebook is not None:
        save_executed(run.notebook, path, out / output_relpath(name))
        entry = course.find(name)
        thumb = out / thumbnail_relpath(name)
        if not save_thumbnail(run.notebook, entry.figure if entry else 0, thumb):
            thumb.unlink(missing_ok=True)  # an earlier run's picture would not be this run's
    if run.interrupted:
        status = "interrupted"
    elif run.timed_out:
        status = "timeout"
    else:
        status = "ok" if run.error is None else "failed"
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


def _write_report(results: list[NotebookResult], out: Path, device: str) -> None:
    save_results(results, out / RESULTS_FILE)
    save_machine_info(machine_info(device), out / RUN_FILE)
    write_index(results, out)


def _check_inputs_kept(notebooks: list[Path], names: list[str], out: Path) -> None:
    """Refuse an ``out`` where a file of the report (an executed copy, its rendering,
    ``results.json``, ``index.html``, the lock) would be written over a notebook being run."""
    targets = [out / RESULTS_FILE, out / RUN_FILE, out / INDEX_FILE, out / LOCK_FILE]
    for name in names:
        copy = out / output_relpath(name)
        targets += [copy, copy.with_suffix(".html")]
    inputs = set(notebooks)  # resolved by _checked
    for target in targets:
        resolved = target.resolve()
        hit = resolved if resolved in inputs else _same_file_as(target, notebooks)
        if hit is not None:
            raise RunnerError(
                f"--out {out} would overwrite {hit}, a notebook being run, with {target.name} "
                "of the report; choose a report folder apart from the notebooks, like "
                "build/course"
            )


def _same_file_as(target: Path, notebooks: list[Path]) -> Path | None:
    """The notebook that ``target`` is (another name of the same file), if any."""
    if not target.exists():
        return None
    for notebook in notebooks:
        try:
            if os.path.samefile(target, notebook):
                return notebook
        except OSError:
            continue
    return None


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
