"""``dlcourse run`` limits: stored output per cell (``--max-output-mb``) and the wall-clock limit
of a whole notebook (``--notebook-timeout``). Issue 22, item 9."""

from __future__ import annotations

import json
import time
import tracemalloc

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from test_runner import _alive, write_notebook

from dlcourse.cli import main
from dlcourse.runner import execute, run_notebooks
from dlcourse.runner.outputs import CappedClient


def _stream(text: str, name: str = "stdout") -> dict:
    """An iopub ``stream`` message as nbclient receives it."""
    return {
        "msg_type": "stream",
        "header": {"msg_type": "stream"},
        "parent_header": {"msg_id": "m"},
        "content": {"name": name, "text": text},
    }


def _display(size: int) -> dict:
    return {
        "msg_type": "display_data",
        "header": {"msg_type": "display_data"},
        "parent_header": {"msg_id": "m"},
        "content": {"data": {"text/plain": "p" * size}, "metadata": {}},
    }


def _stored(outputs: list) -> int:
    return len(json.dumps(outputs))


def test_output_cap_keeps_memory_bounded_while_a_cell_streams():
    """5 MB streamed in 1 kB lines through a 100 kB cap: memory stays near the cap."""
    nb = new_notebook(cells=[new_code_cell("print('x')")])
    client = CappedClient(nb, max_output=100_000)
    outs = nb.cells[0].outputs
    tracemalloc.start()
    try:
        for i in range(5_000):
            client.output(outs, _stream(f"{i:07d} " + "x" * 992 + "\n"), None, 0)
        client.finish_outputs(outs, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert _stored(outs) < 110_000
    head, marker, tail = outs[0], outs[-2], outs[-1]
    assert head.name == "stdout" and head.text.startswith("0000000 x")
    assert tail.name == "stdout" and tail.text.endswith("0004999 " + "x" * 992 + "\n")
    assert len(tail.text.split("\n")[0]) == 1000  # the kept tail starts with a whole line
    assert marker.name == "stderr" and "cut here" in marker.text and "MB" in marker.text
    assert client.cut == {0: 5_005_000 - sum(len(o.text) for o in outs if o.name == "stdout")}


def test_output_cap_cuts_one_huge_message_and_outputs_of_other_kinds():
    nb = new_notebook(cells=[new_code_cell("print('x')")])
    client = CappedClient(nb, max_output=10_000)
    outs = nb.cells[0].outputs
    client.output(outs, _stream("a" * 100 + "b" * 1_000_000 + "c" * 100), None, 0)
    client.output(outs, _display(50_000), None, 0)  # larger than the kept tail: left out
    client.output(outs, _stream("end\n", "stderr"), None, 0)
    client.finish_outputs(outs, 0)
    assert _stored(outs) < 12_000
    assert outs[0].text.startswith("a" * 100) and outs[-1].text == "end\n"
    assert "c" * 100 in "".join(o.get("text", "") for o in outs[2:])
    assert not any(o.output_type == "display_data" for o in outs)


def test_output_cap_leaves_small_outputs_alone_and_restarts_after_clear_output():
    nb = new_notebook(cells=[new_code_cell("print('x')")])
    client = CappedClient(nb, max_output=1_000)
    outs = nb.cells[0].outputs
    for _ in range(5):
        client.output(outs, _stream("z" * 400), None, 0)
    clear = {"msg_type": "clear_output", "parent_header": {"msg_id": "m"}, "content": {}}
    client.clear_output(outs, clear, 0)
    client.output(outs, _stream("short"), None, 0)
    client.output(outs, _display(100), None, 0)
    client.finish_outputs(outs, 0)
    assert [o.output_type for o in outs] == ["stream", "display_data"]
    assert outs[0].text == "short" and client.cut == {}


def test_big_cell_output_is_cut_in_the_notebook_its_html_and_the_report(tmp_path):
    nb = write_notebook(
        tmp_path / "loud.ipynb",
        "for i in range(30_000):\n    print(f'line {i}')",
        "print('y' * 300_000)",
        "print('small')",
        "raise ValueError('v' * 1_000_000)",
    )
    out = tmp_path / "out"
    (result,) = run_notebooks([nb], quick=True, out=out, timeout=60, max_output_mb=0.01)
    assert result.status == "failed"
    assert result.error.startswith("cell 4 of 4 (`raise ValueError('v' * 1_000_000)`): ValueError")
    assert len(result.error) < 3_000 and "characters cut]" in result.error
    executed = nbformat.read(out / "loud.ipynb", as_version=4)
    loop, single, small, error = (cell.outputs for cell in executed.cells)
    text = "".join(o.text for o in loop if o.name == "stdout")
    assert text.startswith("line 0\nline 1\n") and text.endswith("line 29999\n")
    assert "line 15000\n" not in text and len(text) <= 10_000
    assert any("cut here" in o.text for o in loop if o.name == "stderr")
    assert sum(len(o.text) for o in single) < 11_000
    assert small[0].text == "small\n"
    assert error[-1].output_type == "error" and error[-1].ename == "ValueError"
    assert len(json.dumps(error)) < 11_000
    assert (out / "loud.ipynb").stat().st_size < 50_000
    assert "line 15000" not in (out / "loud.html").read_text()
    assert len(result.warnings) == 3
    assert result.warnings[0].startswith("cell 1 of 4 (`for i in range(30_000):`): ")
    assert "MB of output cut" in result.warnings[0] and "--max-output-mb" in result.warnings[0]
    assert "cut" in (out / "index.html").read_text()
    assert len((out / "results.json").read_text()) < 10_000


def test_notebook_past_its_time_limit_is_stopped_and_the_next_one_runs(tmp_path, monkeypatch):
    """The cell swallows the first Ctrl-C, so the kernel is killed after a grace period."""
    monkeypatch.setattr(execute, "STOP_GRACE_SECONDS", 1.0)
    pid_file = tmp_path / "kernel.pid"
    stubborn = write_notebook(
        tmp_path / "stubborn.ipynb",
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))",
        "while True:\n    try:\n        time.sleep(60)\n    except KeyboardInterrupt:\n"
        "        pass",
        "print('never')",
    )
    after = write_notebook(tmp_path / "after.ipynb", "x = 1")
    started = time.monotonic()
    results = run_notebooks(
        [stubborn, after], quick=True, out=tmp_path / "out", timeout=60, notebook_timeout=6
    )
    assert time.monotonic() - started < 30
    assert [r.status for r in results] == ["timeout", "ok"]
    error = results[0].error
    assert error.startswith("stopped after 6 s, the limit for the whole notebook")
    assert "--notebook-timeout" in error and "cell 2 of 3 (`while True:`)" in error
    records = json.loads((tmp_path / "out/results.json").read_text())
    assert [r["status"] for r in records] == ["ok", "timeout"]  # sorted by name
    kernel = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(kernel), "the kernel outlived its notebook"


@pytest.mark.parametrize(
    "args",
    [
        ("--max-output-mb", "0"),
        ("--max-output-mb", "lots"),
        ("--notebook-timeout", "0"),
        ("--notebook-timeout", "-5"),
    ],
)
def test_bad_limits_are_rejected_by_the_parser(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "x.ipynb", *args])
    assert exit_info.value.code == 2
    assert "dlcourse run: error:" in capsys.readouterr().err


def test_help_names_the_limits_and_the_lock(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--max-output-mb MB" in text and "(default 5)" in text
    assert "--notebook-timeout S" in text
    assert "waits" in text and "another dlcourse run" in text
