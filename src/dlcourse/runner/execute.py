"""Execute one notebook with nbclient in this Python, collecting the metrics it records."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import nbformat
import zmq
from ipykernel.kernelspec import RESOURCES, get_kernel_dict
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import default

from dlcourse.config import DATA_ENV, QUICK_ENV, RECORD_ENV
from dlcourse.runner.results import Metric


class _ThisPythonSpecs(KernelSpecManager):
    """Every kernel name maps to ipykernel in the running interpreter, so that notebooks see
    the same packages as ``dlcourse run``, whatever other ``python3`` kernels are installed."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


class _ThisPythonKernel(AsyncKernelManager):
    """nbclient's default kernel manager, starting kernels from :class:`_ThisPythonSpecs`, with
    the connection encrypted where pyzmq can (ipykernel warns on stderr otherwise)."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return _ThisPythonSpecs(parent=self)

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        return "auto" if zmq.has("curve") else "disabled"


@dataclass(frozen=True)
class Execution:
    """The outcome of one notebook: its executed cells (up to a failure), time, metrics, error.

    ``notebook`` is None when the file could not be read as a notebook at all;
    ``interrupted`` is True when Ctrl-C stopped it; ``warnings`` are about its metrics record.
    """

    notebook: NotebookNode | None
    seconds: float
    metrics: dict[str, Metric]
    error: str | None
    interrupted: bool = False
    warnings: tuple[str, ...] = field(default=())


class _Stop(Exception):
    """Raised from the cell hook so that no further cell starts after Ctrl-C."""


class _CellTracker:
    """nbclient hook remembering which cell runs, to name it when something goes wrong; after
    Ctrl-C it stops the notebook before the next cell."""

    def __init__(self, interrupt: _Interrupt) -> None:
        self.index: int | None = None
        self.interrupt = interrupt

    def __call__(self, cell: NotebookNode, cell_index: int) -> None:
        if self.interrupt.requested:
            raise _Stop("interrupted")
        self.index = cell_index


def _kernel_process(client: NotebookClient) -> tuple[int | None, int | None]:
    """The kernel's process id and process group, when it runs (jupyter_client's local
    provisioner); ``(None, None)`` otherwise."""
    provisioner = getattr(getattr(client, "km", None), "provisioner", None)
    return getattr(provisioner, "pid", None), getattr(provisioner, "pgid", None)


def _signal_kernel(pid: int | None, pgid: int | None, signum: int) -> None:
    with contextlib.suppress(OSError):
        if pgid and hasattr(os, "killpg"):
            os.killpg(pgid, signum)
        elif pid:
            os.kill(pid, signum)


class _Interrupt:
    """While active, Ctrl-C (SIGINT) is passed on to the kernel, whose running cell then stops
    with ``KeyboardInterrupt``, and nbclient shuts the kernel down as after any cell error.

    A second Ctrl-C raises ``KeyboardInterrupt`` at once (the caller then kills the kernel).
    Nothing is installed outside the main thread or when SIGINT is not Python's default. (The
    notebook runs in a worker thread, where nbclient's own SIGINT handler, which shuts the
    kernel down under a running cell, cannot be installed.)
    """

    def __init__(self, client: NotebookClient) -> None:
        self.client = client
        self.requested = False
        self._installed = False

    def __enter__(self) -> _Interrupt:
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, self._handle)
                self._installed = True
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: stopping this notebook and its kernel (press Ctrl-C again to kill it)",
            file=sys.stderr,
            flush=True,
        )
        _signal_kernel(*_kernel_process(self.client), signal.SIGINT)


def execute_notebook(path: Path, *, quick: bool, timeout: int) -> Execution:
    """Run every cell of ``path`` in a fresh kernel started in the notebook's folder.

    The kernel sees ``DLCOURSE_QUICK`` (``1`` or ``0``), ``DLCOURSE_RECORD_FILE`` and
    ``DLCOURSE_DATA`` as an absolute path (the kernel starts in another folder); a cell error,
    a cell running over ``timeout`` seconds or a dead kernel ends the run and is described in
    ``error``. Ctrl-C stops the running cell, shuts the kernel down and returns with
    ``interrupted`` set; a second Ctrl-C kills the kernel and raises ``KeyboardInterrupt``.
    """
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several types for files that are not notebooks
        error = f"cannot read it as a notebook ({type(err).__name__}: {err})"
        return Execution(None, time.perf_counter() - start, {}, error)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_manager_class=_ThisPythonKernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    with TemporaryDirectory(prefix="dlcourse-run-") as tmp, _Interrupt(client) as interrupt:
        tracker = _CellTracker(interrupt)
        client.on_cell_execute = tracker
        record_file = Path(tmp) / "records.jsonl"
        env = {**os.environ, QUICK_ENV: "1" if quick else "0", RECORD_ENV: str(record_file)}
        if env.get(DATA_ENV, "").strip():
            env[DATA_ENV] = os.path.abspath(os.path.expanduser(env[DATA_ENV].strip()))
        error = None
        failure = _execute_in_thread(client, env)
        if isinstance(failure, Exception):  # the run failed; report it, let others run
            error = _describe(failure, nb, tracker.index, timeout)
        elif failure is not None:
            raise failure
        if interrupt.requested:
            error = f"interrupted by Ctrl-C {_where(nb, tracker.index)}"
        metrics, warnings = read_records(record_file)
    elapsed = time.perf_counter() - start
    return Execution(nb, elapsed, metrics, error, interrupt.requested, tuple(warnings))


def _execute_in_thread(client: NotebookClient, env: dict[str, str]) -> BaseException | None:
    """Run ``client.execute(env=env)`` in a worker thread while this thread waits, able to take
    Ctrl-C; returns what it raised, if anything. When this thread gets ``KeyboardInterrupt``
    (a second Ctrl-C) the kernel is killed and the interrupt raised."""
    outcome: list[BaseException | None] = [None]

    def work() -> None:
        try:
            client.execute(env=env)
        except BaseException as err:  # handed to the waiting thread
            outcome[0] = err

    worker = threading.Thread(target=work, name="dlcourse-notebook", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        _signal_kernel(*_kernel_process(client), getattr(signal, "SIGKILL", signal.SIGTERM))
        worker.join(5)
        raise
    return outcome[0]


def read_records(path: Path) -> tuple[dict[str, Metric], list[str]]:
    """The metrics ``dlcourse.report.record`` appended to ``path`` (later values win), and a
    warning for each line that is not a JSON object of metrics (those lines are skipped)."""
    metrics: dict[str, Metric] = {}
    warnings: list[str] = []
    if not path.exists():
        return metrics, warnings
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            record, why = None, f"not JSON ({err})"
        else:
            why = "not a JSON object of metrics"
        if isinstance(record, dict) and all(isinstance(k, str) for k in record):
            metrics.update(record)
            continue
        shown = line if len(line) <= 60 else line[:57] + "..."
        warnings.append(f"metrics record line {number} skipped, {why}: {shown!r}")
    return metrics, warnings


def _describe(err: Exception, nb: NotebookNode, index: int | None, timeout: int) -> str:
    """``cell 3 of 9 (`first line`): ValueError: message``, without the traceback."""
    if isinstance(err, CellExecutionError):
        what = f"{err.ename}: {err.evalue}"
    elif isinstance(err, CellTimeoutError):
        what = f"still running after {timeout} s, the per-cell limit (raise it with --timeout)"
    elif isinstance(err, DeadKernelError):
        what = "the kernel died (out of memory, or a crash in compiled code)"
    else:
        what = f"{type(err).__name__}: {err}"
    if index is None:
        return f"before the first cell: {what}"
    return f"{_cell_name(nb, index)}: {what}"


def _where(nb: NotebookNode, index: int | None) -> str:
    """``in cell 3 of 9 (`first line`)``, or ``before the first cell``."""
    return "before the first cell" if index is None else f"in {_cell_name(nb, index)}"


def _cell_name(nb: NotebookNode, index: int) -> str:
    """``cell 3 of 9 (`first line`)``."""
    lines = [line.strip() for line in nb.cells[index].source.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > 60:
        first = first[:57] + "..."
    return f"cell {index + 1} of {len(nb.cells)} (`{first}`)"
