"""The notebook runner: ``dlcourse run`` on small fixture notebooks, and its report pieces.

Kernel starts cost seconds, so one module-scoped fixture runs the CLI twice (a quick run of
two notebooks, then a full re-run of one) and most tests read what those runs left behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlcourse import course
from dlcourse.cli import main
from dlcourse.config import get_device
from dlcourse.course import Notebook
from dlcourse.runner import NotebookResult, RunnerError, run_notebooks
from dlcourse.runner.paths import course_notebooks, display_name, find_course_dir, output_relpath
from dlcourse.runner.report_html import render_index, write_index
from dlcourse.runner.results import load_results, merge_results, save_results
from dlcourse.threads import thread_settings

FAILING = "PyTorch/01_Basics/a_fail.ipynb"
PASSING = "PyTorch/01_Basics/b_ok.ipynb"
FIXTURE_ENTRY = Notebook(
    "01_Basics/b_ok.ipynb",
    "Fixture that records metrics",
    "records a few values",
    "none",
    {"answer": ">= 40", "never_recorded": ">= 1"},
)


# A cell that spoils the metrics record file: a line cut short, a line that is not an object.
BAD_RECORD_LINES = (
    "import os\n"
    "with open(os.environ['DLCOURSE_RECORD_FILE'], 'a') as fh:\n"
    "    fh.write('{\"cut\": 0.9\\n[1, 2]\\n')"
)


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook whose cells are Markdown when they start with ``#``, code otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    made = [new_markdown_cell(c) if c.startswith("# ") else new_code_cell(c) for c in cells]
    nbformat.write(new_notebook(cells=made), path)
    return path


def cli(*args: str) -> SimpleNamespace:
    """Run ``dlcourse`` in-process, capturing its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return SimpleNamespace(status=status, out=out.getvalue(), err=err.getvalue())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A quick ``--all`` run over a failing and a passing notebook, then ``--full`` of one."""
    root = tmp_path_factory.mktemp("course")
    write_notebook(
        root / FAILING,
        "# Fails in its third cell",
        BAD_RECORD_LINES,
        "value = 1 / 0\nprint(value)",
        "y = 2",
    )
    write_notebook(
        root / PASSING,
        "# Records metrics",
        "import os, sys\nfrom dlcourse.report import record\nrecord(answer=41)",
        "record(answer=42, quick=os.environ['DLCOURSE_QUICK'], prefix=sys.prefix)\n"
        "record(cwd=os.getcwd(), data=os.environ['DLCOURSE_DATA'])\n"
        "record(omp_num_threads=os.environ.get('OMP_NUM_THREADS', 'unset'))",
        "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()",
    )
    write_notebook(
        root / "PyTorch/01_Basics/.ipynb_checkpoints/b_ok-checkpoint.ipynb", "raise SystemExit(3)"
    )
    out = root / "build"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("DLCOURSE_DATA", "rel-data")  # relative to here, not to the notebooks
        mp.delenv("OMP_NUM_THREADS", raising=False)  # the runner must give it to its kernels
        mp.setattr(course, "COURSE", (FIXTURE_ENTRY,))
        quick = cli("run", "--all", "--out", str(out))
        quick.results = json.loads((out / "results.json").read_text())
        quick.index = (out / "index.html").read_text()
        full = cli("run", PASSING, "--full", "--out", str(out))
        full.results = json.loads((out / "results.json").read_text())
        full.index = (out / "index.html").read_text()
    return SimpleNamespace(root=root, out=out, quick=quick, full=full)


def by_name(results: list[dict]) -> dict[str, dict]:
    return {r["notebook"]: r for r in results}


def test_failing_notebook_names_notebook_cell_and_error(runs):
    assert runs.quick.status == 1
    line = next(x for x in runs.quick.err.splitlines() if x.startswith("FAILED"))
    assert FAILING in line
    assert "cell 3 of 4 (`value = 1 / 0`)" in line
    assert "ZeroDivisionError: division by zero" in line
    assert "Traceback" not in runs.quick.err
    record = by_name(runs.quick.results)[FAILING]
    assert record["status"] == "failed" and "ZeroDivisionError" in record["error"]


def test_failing_notebook_still_saved_up_to_the_error(runs):
    executed = nbformat.read(runs.out / "01_Basics/a_fail.ipynb", as_version=4)
    failed_cell, after = executed.cells[2], executed.cells[3]
    assert failed_cell.outputs[0].output_type == "error"
    assert after.execution_count is None and not after.outputs
    assert (runs.out / "01_Basics/a_fail.html").is_file()


def test_other_notebook_runs_after_a_failure(runs):
    assert [r["notebook"] for r in runs.quick.results] == [FAILING, PASSING]
    record = by_name(runs.quick.results)[PASSING]
    assert record["status"] == "ok" and "error" not in record
    assert record["mode"] == "quick" and record["device"] == str(get_device())
    assert record["seconds"] > 0


def test_metrics_and_environment_reach_results(runs):
    metrics = by_name(runs.quick.results)[PASSING]["metrics"]
    assert metrics["answer"] == 42  # the later record wins
    assert metrics["quick"] == "1"
    assert metrics["prefix"] == sys.prefix  # the kernel runs in this environment
    assert Path(metrics["cwd"]) == (runs.root / PASSING).parent.resolve()


def test_relative_data_dir_reaches_the_kernel_as_an_absolute_path(runs):
    metrics = by_name(runs.quick.results)[PASSING]["metrics"]
    assert metrics["data"] == str(runs.root / "rel-data")


def test_kernels_start_with_the_course_thread_settings(runs):
    metrics = by_name(runs.quick.results)[PASSING]["metrics"]
    assert metrics["omp_num_threads"] == thread_settings()["OMP_NUM_THREADS"]


def test_malformed_record_lines_are_skipped_with_a_warning(runs):
    record = by_name(runs.quick.results)[FAILING]
    assert record["metrics"] == {}
    assert [w.split(",")[0] for w in record["warnings"]] == [
        "metrics record line 1 skipped",
        "metrics record line 2 skipped",
    ]
    assert "not JSON" in record["warnings"][0] and "not a JSON object" in record["warnings"][1]
    assert f"WARNING {FAILING}: metrics record line 1 skipped" in runs.quick.err
    assert "warning: metrics record line 2 skipped" in runs.quick.index
    assert "warnings" not in by_name(runs.quick.results)[PASSING]


def test_checkpoints_are_skipped(runs):
    assert not any("checkpoint" in r["notebook"] for r in runs.quick.results)


def test_progress_and_summary(runs):
    out = runs.quick.out
    assert f"[1/2] {FAILING} (quick) ..." in out
    assert f"[2/2] {PASSING} ... ok (" in out
    assert f"[1/2] {FAILING} ... failed (" in out
    assert str(runs.out / "index.html") in out


def test_quick_report_shows_targets_without_verdict(runs):
    index = runs.quick.index
    thumb = '<img class="thumb" src="thumbs/01_Basics/b_ok.png" alt="" loading="lazy">'
    assert f'<a href="01_Basics/b_ok.html">{thumb}Fixture that records metrics</a>' in index
    assert (runs.out / "thumbs/01_Basics/b_ok.png").read_bytes().startswith(b"\x89PNG")
    assert not (runs.out / "thumbs/01_Basics/a_fail.png").exists()  # it showed no image
    machine = json.loads((runs.out / "run.json").read_text())
    assert machine["torch"] and machine["python"] and machine["cores"]
    assert '<a href="01_Basics/a_fail.html">a_fail</a>' in index
    assert "≥ 40" in index and ">quick run<" in index
    assert "&#10003; pass" not in index and "&#10007; fail" not in index
    rendering = (runs.out / "01_Basics/b_ok.html").read_text()
    assert "data:image/png;base64" in rendering


def test_full_rerun_of_one_notebook_keeps_the_others(runs):
    assert runs.full.status == 0
    records = by_name(runs.full.results)
    assert records[FAILING] == by_name(runs.quick.results)[FAILING]
    assert records[PASSING]["mode"] == "full"
    assert records[PASSING]["metrics"]["quick"] == "0"
    index = runs.full.index
    assert "&#10003; pass" in index  # answer 42 >= 40
    assert "not recorded" in index and "&#10007; fail" in index  # never_recorded >= 1


def test_timeout_and_dead_kernel_are_failures(tmp_path):
    slow = write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)")
    dies = write_notebook(tmp_path / "dies.ipynb", "import os\nos._exit(1)")
    results = run_notebooks([slow, dies], quick=True, out=tmp_path / "out", timeout=2)
    assert [r.status for r in results] == ["timeout", "failed"]
    assert "cell 1 of 1 (`import time`): still running after 2 s" in results[0].error
    assert "--timeout" in results[0].error
    assert "the kernel died" in results[1].error


def test_unreadable_notebook_is_a_failure_without_a_kernel(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    (result,) = run_notebooks([broken], quick=True, out=tmp_path / "out", timeout=5)
    assert not result.ok and result.error.startswith("cannot read it as a notebook")
    assert f"FAILED {result.notebook}: cannot read it" in capsys.readouterr().err
    assert not (tmp_path / "out/broken.html").exists()
    assert "<a href" not in (tmp_path / "out/index.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the notebooks to run, or pass --all"),
        (("--all", "x.ipynb"), "give notebooks or --all, not both"),
        (("missing.ipynb",), "not a notebook file:"),
        (("notes.txt",), "not a notebook file:"),
    ],
)
def test_bad_arguments_give_one_clear_error(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    result = cli("run", *args)
    assert result.status == 2
    assert result.err.startswith("dlcourse run: error: ") and message in result.err
    assert result.err.count("\n") == 1


def test_all_needs_a_course_folder_with_notebooks(tmp_path, monkeypatch):
    if any((folder / "PyTorch").is_dir() for folder in tmp_path.parents):
        pytest.skip("the temporary folder lies inside a course")
    with pytest.raises(RunnerError, match="--all found no PyTorch/ folder"):
        find_course_dir(tmp_path)
    (tmp_path / "PyTorch").mkdir()
    monkeypatch.chdir(tmp_path)
    result = cli("run", "--all")
    assert result.status == 2 and "--all found no notebooks under" in result.err


def test_unreadable_results_file_stops_before_running(tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", "raise SystemExit('must not run')")
    (tmp_path / "out").mkdir()
    (tmp_path / "out/results.json").write_text("{not json")
    result = cli("run", str(nb), "--out", str(tmp_path / "out"))
    assert result.status == 2 and "is not a results file written by dlcourse run" in result.err
    assert not (tmp_path / "out/n.ipynb").exists()


def test_unavailable_device_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "no-such-device")
    nb = write_notebook(tmp_path / "n.ipynb", "x = 1")
    result = cli("run", str(nb), "--out", str(tmp_path / "out"))
    assert result.status == 2 and "DLCOURSE_DEVICE" in result.err


@pytest.mark.parametrize("args", [("--timeout", "0"), ("--timeout", "soon"), ("--quick", "--full")])
def test_bad_options_are_rejected_by_the_parser(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "x.ipynb", *args])
    assert exit_info.value.code == 2
    assert "dlcourse run: error:" in capsys.readouterr().err


def test_course_paths(tmp_path):
    course_dir = tmp_path / "PyTorch"
    for name in ("02_B/a.ipynb", "01_A/b.ipynb", "01_A/a.ipynb", "01_A/.ipynb_checkpoints/a.ipynb"):
        write_notebook(course_dir / name, "x = 1")
    found = course_notebooks(course_dir)
    assert [p.relative_to(course_dir).as_posix() for p in found] == [
        "01_A/a.ipynb",
        "01_A/b.ipynb",
        "02_B/a.ipynb",
    ]
    assert find_course_dir(course_dir / "01_A") == course_dir.resolve()
    assert find_course_dir(tmp_path) == course_dir.resolve()
    assert display_name(found[0]) == "PyTorch/01_A/a.ipynb"
    assert output_relpath("PyTorch/01_A/a.ipynb").as_posix() == "01_A/a.ipynb"
    assert output_relpath("extra/a.ipynb").as_posix() == "extra/a.ipynb"


def result(name: str, **changes: object) -> NotebookResult:
    fields = {"mode": "full", "status": "ok", "seconds": 90.0, "device": "cpu", "metrics": {}}
    return NotebookResult(notebook=name, **{**fields, **changes})


BOSTON = "PyTorch/01_Basics/02_boston_house_price_regression.ipynb"


@pytest.mark.parametrize(
    ("mode", "metrics", "verdict"),
    [
        ("full", {"test_mae": 2.0, "linear_baseline_test_mae": 3.0}, "&#10003; pass"),
        ("full", {"test_mae": 2.0, "linear_baseline_test_mae": 1.5}, "&#10007; fail"),
        ("full", {"test_mae": 2.6, "linear_baseline_test_mae": 3.0}, "&#10007; fail"),
        ("full", {"linear_baseline_test_mae": 3.0}, "&#10007; fail"),
        ("full", {"test_mae": 2.0}, "cannot judge"),
        ("quick", {"test_mae": 9.0, "linear_baseline_test_mae": 3.0}, ">quick run<"),
    ],
)
def test_index_judges_targets_in_full_mode_only(tmp_path, mode, metrics, verdict):
    page = render_index([result(BOSTON, mode=mode, metrics=metrics)], tmp_path)
    assert "Boston house prices" in page
    assert "≤ 2.5 and &lt; linear_baseline_test_mae" in page
    marks = ["&#10003; pass", "&#10007; fail", "cannot judge", ">quick run<"]
    assert [m for m in marks if m in page] == [verdict]
    assert "<a href" not in page  # no rendering in tmp_path to link to
    assert '<td class="num">1.5</td>' in page  # 90 s in minutes


def test_index_escapes_error_text(tmp_path):
    page = render_index([result("x.ipynb", status="failed", error="<b>bad</b>")], tmp_path)
    assert "&lt;b&gt;bad&lt;/b&gt;" in page and "<b>bad" not in page


def test_results_merge_and_round_trip(tmp_path):
    old = [result("b.ipynb", seconds=1.0), result("a.ipynb", status="failed", error="boom")]
    new = [result("b.ipynb", seconds=2.0), result("c.ipynb")]
    merged = merge_results(old, new)
    assert [(r.notebook, r.seconds) for r in merged] == [
        ("a.ipynb", 90.0),
        ("b.ipynb", 2.0),
        ("c.ipynb", 90.0),
    ]
    save_results(merged, tmp_path / "results.json")
    assert load_results(tmp_path / "results.json") == merged
    records = json.loads((tmp_path / "results.json").read_text())
    assert "error" in records[0] and "error" not in records[1]


# --- interruption, bad --out, clashing names, atomic report files ---------------------------


def test_ctrl_c_stops_the_run_shuts_the_kernel_down_and_exits_130(tmp_path):
    """Ctrl-C reaches ``dlcourse run`` (the kernel, in its own session, sends it here)."""
    pid_file = tmp_path / "kernel.pid"
    first = write_notebook(
        tmp_path / "first.ipynb",
        "from dlcourse.report import record\nrecord(before=1)",
        f"import os, signal, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "os.kill(os.getppid(), signal.SIGINT)\ntime.sleep(60)",
        "record(after=1)",
    )
    second = write_notebook(tmp_path / "second.ipynb", "x = 1")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "run", str(first), str(second), "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 130, run.stderr
    assert "interrupted (Ctrl-C) in first.ipynb" in run.stderr and "Traceback" not in run.stderr
    assert "second.ipynb" not in run.stdout  # the next notebook did not start
    (record,) = json.loads((out / "results.json").read_text())
    assert record["notebook"] == "first.ipynb" and record["status"] == "interrupted"
    assert record["error"].startswith("interrupted by Ctrl-C in cell 2 of 3")
    assert record["metrics"] == {"before": 1}
    assert "1 interrupted" in (out / "index.html").read_text()
    assert (out / "first.html").is_file()
    kernel = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(kernel), "the kernel outlived the run"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG) != (0, 0):  # a zombie of ours counts as gone
            return False
    return True


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_unusable_out_stops_before_any_notebook_runs(tmp_path, kind):
    nb = write_notebook(tmp_path / "n.ipynb", "raise SystemExit('must not run')")
    (tmp_path / "taken").write_text("a file")
    out = tmp_path / "taken" if kind == "file" else tmp_path / "taken" / "report"
    started = time.monotonic()
    result = cli("run", str(nb), "--out", str(out))
    assert result.status == 2 and result.err.startswith("dlcourse run: error: --out ")
    assert "is a file, not a folder" in result.err or "cannot be written" in result.err
    assert result.out == "" and time.monotonic() - started < 5  # no kernel was started


@pytest.mark.skipif(getattr(os, "geteuid", lambda: -1)() == 0, reason="root ignores permissions")
def test_read_only_out_stops_before_any_notebook_runs(tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", "raise SystemExit('must not run')")
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o555)
    try:
        result = cli("run", str(nb), "--out", str(tmp_path / "out"))
    finally:
        (tmp_path / "out").chmod(0o755)
    assert result.status == 2 and "cannot be written" in result.err and result.out == ""


def test_same_named_notebooks_from_different_folders_are_refused(tmp_path, monkeypatch):
    one = write_notebook(tmp_path / "a" / "x.ipynb", "raise SystemExit('must not run')")
    two = write_notebook(tmp_path / "b" / "x.ipynb", "raise SystemExit('must not run')")
    monkeypatch.chdir(tmp_path / "a")  # b/x.ipynb is outside: both would be named x.ipynb
    result = cli("run", str(one), str(two), "--out", str(tmp_path / "out"))
    assert result.status == 2 and result.out == ""
    assert str(one) in result.err and str(two) in result.err and "overwrite" in result.err
    assert not (tmp_path / "out" / "results.json").exists()


def test_results_and_index_are_replaced_atomically(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("[]\n")
    (out / "index.html").write_text("<p>old</p>")
    inodes = {name: (out / name).stat().st_ino for name in ("results.json", "index.html")}
    old = [result("a.ipynb")]
    save_results(old, out / "results.json")
    write_index(old, out)
    for name, inode in inodes.items():  # a new file renamed into place, not rewritten in place
        assert (out / name).stat().st_ino != inode
    assert load_results(out / "results.json") == old
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "results.json"]


def test_results_keep_warnings_and_interrupted_status(tmp_path):
    records = [
        result("a.ipynb", status="interrupted", error="interrupted by Ctrl-C in cell 1 of 1"),
        result("b.ipynb", warnings=["metrics record line 1 skipped, not JSON: 'x'"]),
    ]
    save_results(records, tmp_path / "results.json")
    assert load_results(tmp_path / "results.json") == records
    assert not records[0].ok
    page = render_index(records, tmp_path)
    assert "1 ok, 0 failed, 1 interrupted" in page and "warning: metrics record line 1" in page
