"""``dlcourse run``: execute course notebooks and write an HTML and JSON report."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from dlcourse.runner.errors import RunnerError
from dlcourse.runner.outputs import DEFAULT_MAX_OUTPUT_MB
from dlcourse.runner.paths import course_notebooks, find_course_dir
from dlcourse.runner.report_html import INDEX_FILE
from dlcourse.runner.run import RESULTS_FILE, run_notebooks

DEFAULT_OUT = Path("build/course")
DEFAULT_TIMEOUT = 1800


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dlcourse run``."""
    p = subparsers.add_parser(
        "run",
        help="execute notebooks and write an HTML/JSON report",
        description="Execute course notebooks in this Python environment and write each executed "
        "notebook, its HTML rendering, results.json and an index.html report under --out. "
        "A run into an --out folder that another dlcourse run is writing waits until that run "
        "ends (it says so on stderr; Ctrl-C stops waiting), then adds its notebooks to the same "
        "report: notebooks of earlier runs stay, a notebook run again gets its new record.",
    )
    p.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK", help="notebooks to run")
    p.add_argument(
        "--all", action="store_true", help="every notebook under PyTorch/ (found from here)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        dest="quick",
        action="store_true",
        default=True,
        help="smoke run on small subsets, 1-2 epochs (the default)",
    )
    mode.add_argument("--full", dest="quick", action="store_false", help="the real course")
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"report folder (default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--timeout",
        type=_positive_int,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds one cell may run (default {DEFAULT_TIMEOUT})",
    )
    p.add_argument(
        "--notebook-timeout",
        type=_positive_float,
        default=None,
        metavar="S",
        help="seconds a whole notebook may run; past it the notebook is stopped, its kernel "
        "shut down, it is recorded as timeout, and the next notebook starts (default: no limit)",
    )
    p.add_argument(
        "--max-output-mb",
        type=_positive_float,
        default=DEFAULT_MAX_OUTPUT_MB,
        metavar="MB",
        help="output each cell keeps in the executed notebook, its report and memory: its first "
        "and last half, with a note of how much was cut between them "
        f"(default {DEFAULT_MAX_OUTPUT_MB:g})",
    )
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the notebooks; 0 when all succeed, 1 when any fails, 2 on bad input, 130 on Ctrl-C."""
    try:
        notebooks = _selected(args)
        results = run_notebooks(
            notebooks,
            quick=args.quick,
            out=args.out,
            timeout=args.timeout,
            max_output_mb=args.max_output_mb,
            notebook_timeout=args.notebook_timeout,
        )
    except RunnerError as err:
        print(f"dlcourse run: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"dlcourse run: interrupted; {args.out / INDEX_FILE} holds the notebooks that finished",
            file=sys.stderr,
        )
        return 130
    failed = [r.notebook for r in results if r.status in ("failed", "timeout")]
    timed_out = [r.notebook for r in results if r.status == "timeout"]
    interrupted = [r.notebook for r in results if r.status == "interrupted"]
    minutes = sum(r.seconds for r in results) / 60
    ok = len(results) - len(failed) - len(interrupted)
    print(
        f"Ran {len(results)} notebook(s) in {minutes:.1f} min: "
        f"{ok} ok, {len(failed) - len(timed_out)} failed"
        f"{f', {len(timed_out)} timed out' if timed_out else ''}"
        f"{', 1 interrupted' if interrupted else ''}."
    )
    print(f"Report: {args.out / INDEX_FILE} (data: {args.out / RESULTS_FILE})")
    if interrupted:
        print(
            f"dlcourse run: interrupted (Ctrl-C) in {interrupted[0]}; the notebooks after it "
            "did not run",
            file=sys.stderr,
        )
        return 130
    if failed:
        print(f"Failed (see the errors above): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _selected(args: argparse.Namespace) -> list[Path]:
    if args.all and args.notebooks:
        raise RunnerError("give notebooks or --all, not both")
    if not args.all:
        if not args.notebooks:
            raise RunnerError("name the notebooks to run, or pass --all for the whole course")
        return args.notebooks
    course_dir = find_course_dir(Path.cwd())
    notebooks = course_notebooks(course_dir)
    if not notebooks:
        raise RunnerError(f"--all found no notebooks under {course_dir}")
    return notebooks


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number of seconds")
    return value
