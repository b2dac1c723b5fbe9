"""``dlcourse run`` and its report folder: no input overwritten, one run at a time, safe links.

Issue 22, items 4, 8 and 11 (part). Notebooks are tiny ones the tests write themselves.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from test_runner import cli, write_notebook

from dlcourse.runner import run_notebooks
from dlcourse.runner.lock import LOCK_FILE, out_lock

MUST_NOT_RUN = "raise SystemExit('must not run')"


# --- item 4: an --out that would write over a notebook being run is refused ----------------


@pytest.mark.parametrize(
    ("notebook", "out"),
    [
        ("lesson.ipynb", "."),  # next to the notebook
        ("PyTorch/01_A/x.ipynb", "PyTorch"),  # the course folder itself
        ("notebooks/x.ipynb", "link"),  # a symbolic link to the notebook's folder
    ],
)
def test_out_that_would_overwrite_a_notebook_is_refused(tmp_path, monkeypatch, notebook, out):
    nb = write_notebook(tmp_path / notebook, MUST_NOT_RUN)
    (tmp_path / "link").symlink_to(tmp_path / "notebooks", target_is_directory=True)
    if notebook.startswith("notebooks/"):  # named from inside its folder: the copy is out/x.ipynb
        monkeypatch.chdir(tmp_path / "notebooks")
        notebook, out = "x.ipynb", str(tmp_path / "link")
    else:
        monkeypatch.chdir(tmp_path)
    before = nb.read_bytes()
    started = time.monotonic()
    result = cli("run", notebook, "--out", out)
    assert result.status == 2, result.err
    assert result.err.startswith(f"dlcourse run: error: --out {out} would overwrite ")
    assert str(nb.resolve()) in result.err and result.err.count("\n") == 1
    assert result.out == "" and time.monotonic() - started < 5  # no kernel was started
    assert nb.read_bytes() == before
    assert not (tmp_path / "results.json").exists()


def test_all_into_the_course_folder_is_refused(tmp_path, monkeypatch):
    write_notebook(tmp_path / "PyTorch/01_A/a.ipynb", MUST_NOT_RUN)
    monkeypatch.chdir(tmp_path)
    result = cli("run", "--all", "--out", "PyTorch")
    assert result.status == 2 and "would overwrite" in result.err and result.out == ""


def test_one_notebooks_copy_over_another_input_is_refused(tmp_path, monkeypatch):
    """``a.ipynb`` goes to ``build/a.ipynb``, which is the second notebook named."""
    write_notebook(tmp_path / "a.ipynb", MUST_NOT_RUN)
    second = write_notebook(tmp_path / "build/a.ipynb", MUST_NOT_RUN)
    monkeypatch.chdir(tmp_path)
    result = cli("run", "a.ipynb", "build/a.ipynb", "--out", "build")
    assert result.status == 2 and "would overwrite" in result.err
    assert str(second.resolve()) in result.err
    assert not (tmp_path / "build/results.json").exists()


# --- item 8: two runs into one --out: the second waits, and the report keeps both -----------


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_second_run_into_the_same_out_waits_and_the_report_keeps_both(tmp_path, capsys):
    started, go = tmp_path / "started", tmp_path / "go"
    slow = write_notebook(
        tmp_path / "a.ipynb",
        f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\n"
        f"for _ in range(600):\n    if pathlib.Path({str(go)!r}).exists():\n        break\n"
        "    time.sleep(0.05)",
    )
    quick = write_notebook(tmp_path / "b.ipynb", "x = 1")
    out = tmp_path / "out"
    statuses: dict[str, list[str]] = {}

    def run(nb: Path) -> None:
        statuses[nb.name] = [r.status for r in run_notebooks([nb], quick=True, out=out, timeout=60)]

    first = threading.Thread(target=run, args=(slow,))
    second = threading.Thread(target=run, args=(quick,))
    err = ""
    try:
        first.start()
        assert _wait_for(started.exists, 60), "the first notebook did not start"
        second.start()

        def second_waits_or_ends() -> bool:
            nonlocal err
            err += capsys.readouterr().err
            return "waiting" in err or not second.is_alive()

        _wait_for(second_waits_or_ends, 30)
    finally:
        go.touch()
        first.join(60)
        second.join(60)
    err += capsys.readouterr().err
    assert statuses == {"a.ipynb": ["ok"], "b.ipynb": ["ok"]}
    records = json.loads((out / "results.json").read_text())
    assert [r["notebook"] for r in records] == ["a.ipynb", "b.ipynb"]
    assert f"waiting for another dlcourse run writing to {out}" in err
    index = (out / "index.html").read_text()
    assert 'href="a.html"' in index and 'href="b.html"' in index


@pytest.mark.parametrize("backend", ["fcntl", "filelock"])
def test_out_lock_waits_for_the_holder_and_says_so(tmp_path, monkeypatch, backend):
    if backend == "filelock":
        monkeypatch.setattr("dlcourse.data.lock.fcntl", None)
    said: list[str] = []
    order: list[str] = []

    def second() -> None:
        with out_lock(tmp_path, on_wait=said.append):
            order.append("second")

    with out_lock(tmp_path, on_wait=said.append):
        thread = threading.Thread(target=second)
        thread.start()
        assert _wait_for(lambda: bool(said), 5)
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]
    assert len(said) == 1 and str(tmp_path) in said[0]
    if backend == "fcntl":
        assert f"pid {os.getpid()}" in said[0]
    assert (tmp_path / LOCK_FILE).exists()


# --- item 11: links to notebooks with '#', spaces or '&' in their names ---------------------


def test_index_links_are_url_encoded_and_names_escaped(tmp_path):
    hashed = write_notebook(tmp_path / "lesson#1.ipynb", "x = 1")
    spaced = write_notebook(tmp_path / "a b & c.ipynb", "x = 2")
    out = tmp_path / "out"
    results = run_notebooks([hashed, spaced], quick=True, out=out, timeout=60)
    assert [r.status for r in results] == ["ok", "ok"]
    index = (out / "index.html").read_text()
    assert '<a href="lesson%231.html">lesson#1</a>' in index
    assert '<a href="a%20b%20%26%20c.html">a b &amp; c</a>' in index
    assert "a b & c" not in index  # every & in text is escaped
    hrefs = [part.split('"')[0] for part in index.split('href="')[1:]]
    assert len(hrefs) == 2 and all((out / unquote(h)).is_file() for h in hrefs)
