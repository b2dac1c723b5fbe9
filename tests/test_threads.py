"""The thread settings every course kernel starts with, and where they are set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dlcourse
from dlcourse.threads import course_threads, describe, thread_settings, with_thread_settings

ROOT = Path(__file__).resolve().parents[1]


def test_all_cores_but_one_and_at_least_one(monkeypatch):
    for cores, threads in ((1, 1), (2, 1), (8, 7)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert course_threads() == threads
        assert thread_settings() == {"OMP_NUM_THREADS": str(threads)}


def test_the_course_settings_fill_in_only_what_the_environment_lacks():
    assert with_thread_settings({}) == thread_settings()
    assert with_thread_settings({"OMP_NUM_THREADS": "3", "PATH": "/bin"}) == {
        "OMP_NUM_THREADS": "3",
        "PATH": "/bin",
    }


def _shell_value(script: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()


def test_make_and_ci_give_the_same_threads_as_the_library():
    """One rule: make (lab, run, test) and .ci/run compute what threads.py computes."""
    assert _shell_value("make -s threads") == str(course_threads())
    lines = [
        line
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.startswith(("cores=", "export OMP_NUM_THREADS="))
    ]
    assert len(lines) == 2
    assert _shell_value("\n".join([*lines, "echo $OMP_NUM_THREADS"])) == str(course_threads())


def test_setup_prints_the_threads_and_where_they_come_from(monkeypatch, capsys):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    dlcourse.setup()
    assert "thread" in capsys.readouterr().out
    assert "(OMP_NUM_THREADS=1)" in describe()
    for key in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"):
        monkeypatch.delenv(key, raising=False)
    assert "torch's default: slow when another program is busy" in describe()
