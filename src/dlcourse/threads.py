"""How many CPU threads torch uses, so that training does not collapse on a busy machine.

torch's PyPI wheels parallelise with OpenMP (GNU libgomp). Between two parallel regions its
threads spin, waiting for work, before they sleep. That is fast while every thread has a core
of its own, and many times slower as soon as another program (a browser, a second notebook)
holds one: a spinning thread waits for a partner that cannot run. Measured on a 2-core machine
(``benchmarks/bench_busy.py``, RESULTS.md), no wait policy kept both the idle speed of
spinning and the busy speed of one thread, while leaving one core to the rest of the machine
did. So the course's kernels start with ``OMP_NUM_THREADS`` = all cores but one (at least one).

OpenMP reads its settings once, when it starts, so they must be in a process's environment
before ``torch`` is imported: ``dlcourse run`` gives them to every kernel it starts, ``make
lab`` and ``.ci/run`` export them, and ``setup()`` prints what is in force. A value already in
the environment is kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch

OMP_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
"""The variables that decide how many OpenMP threads run and how they wait."""


def without_omp_settings(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without any of :data:`OMP_VARIABLES`: what a process gets with OpenMP's defaults."""
    return {k: v for k, v in env.items() if k not in OMP_VARIABLES}


def course_threads() -> int:
    """All the cores this process may use but one, and at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def thread_settings() -> dict[str, str]:
    """The environment the course's kernels start with."""
    return {"OMP_NUM_THREADS": str(course_threads())}


def with_thread_settings(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus :func:`thread_settings` for every variable it does not set itself."""
    return {**thread_settings(), **env}


def describe() -> str:
    """The threads in force and where they come from, for ``setup()`` to print."""
    threads = torch.get_num_threads()
    given = [f"{key}={os.environ[key]}" for key in OMP_VARIABLES if os.environ.get(key)]
    if given:
        return f"{threads} thread{'s' * (threads != 1)} ({', '.join(given)})"
    return (
        f"{threads} thread{'s' * (threads != 1)} (torch's default: slow when another program "
        f"is busy; start Jupyter with OMP_NUM_THREADS={course_threads()}, see README)"
    )


@contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` other processes, each keeping one core busy (as a browser or a second notebook
    might), while the block runs; they are stopped when it ends, also on error."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        if count:
            time.sleep(0.5)  # let them take their cores
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def seconds_in_fresh_python(code: str, settings: Mapping[str, str], timeout: float = 600) -> float:
    """Run ``code`` in a new Python whose OpenMP starts with ``settings`` (and none of this
    process's OpenMP variables); returns the value ``code`` leaves in ``seconds``."""
    env = without_omp_settings(os.environ)
    script = code + "\nprint(repr(float(seconds)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the timed code failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])
