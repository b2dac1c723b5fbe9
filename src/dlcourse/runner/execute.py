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
from dlcourse.runner.outputs import DEFAULT_MAX_OUTPUT_MB, CappedClient, megabytes, shortened
from dlcourse.runner.results import Metric
from dlcourse.threads import with_thread_settings

# After the whole-notebook time limit, the kernel gets Ctrl-C (SIGINT); one still running this
# many seconds later is killed, and one whose thread has not ended this much later again is
# left behind (the run goes on).
STOP_GRACE_SECONDS = 10.0
ERROR_CHARS = 2000  # an error message in results.json and index.html is cut to this length


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
    ``interrupted`` is True when Ctrl-C stopped it, ``timed_out`` when a cell or the whole
    notebook ran past its time limit; ``warnings`` are about its metrics record and about
    output cut from cells.
    """

    notebook: NotebookNode | None
    seconds: float
    metrics: dict[str, Metric]
    error: str | None
    interrupted: bool = False
    warnings: tuple[str, ...] = field(default=())
    timed_out: bool = False


class _Stop(Exception):
    """Raised from the cell hook so that no further cell starts after Ctrl-C or past the time
    limit; also what a notebook whose kernel would not stop ends with."""


class _CellTracker:
    """nbclient hook remembering which cell runs, to name it when something goes wrong; after
    Ctrl-C or past the time limit it stops the notebook before the next cell."""

    def __init__(self, interrupt: _Interrupt, limit: _TimeLimit) -> None:
        self.index: int | None = None
        self.interrupt = interrupt
        self.limit = limit

    def __call__(self, cell: NotebookNode, cell_index: int) -> None:
        if self.interrupt.requested or self.limit.expired:
            raise _Stop("stopped")
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


class _TimeLimit:
    """The wall-clock limit of a whole notebook: once it has run ``seconds``, the kernel gets
    SIGINT (the running cell stops, and nbclient shuts the kernel down); a kernel still there
    :data:`STOP_GRACE_SECONDS` later is killed. ``seconds=None``: no limit."""

    def __init__(self, client: NotebookClient, seconds: float | None) -> None:
        self.client = client
        self.seconds = seconds
        self.expired = False
        self.left_behind = False  # True when the notebook's thread was given up on
        self._start = time.monotonic()
        self._expired_at = 0.0
        self._killed = False

    def check(self) -> bool:
        """Act on the limit (called every 0.2 s while the notebook runs); True when the
        notebook's thread should be left behind: its kernel was killed long ago."""
        if self.seconds is None:
            return False
        now = time.monotonic()
        if not self.expired:
            if now - self._start >= self.seconds:
                self.expired = True
                self._expired_at = now
                _signal_kernel(*_kernel_process(self.client), signal.SIGINT)
            return False
        waited = now - self._expired_at
        if not self._killed and waited >= STOP_GRACE_SECONDS:
            self._killed = True
            _signal_kernel(*_kernel_process(self.client), _KILL)
        return waited >= 2 * STOP_GRACE_SECONDS


_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)


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


def execute_notebook(
    path: Path,
    *,
    quick: bool,
    timeout: int,
    max_output_mb: float = DEFAULT_MAX_OUTPUT_MB,
    notebook_timeout: float | None = None,
) -> Execution:
    """Run every cell of ``path`` in a fresh kernel started in the notebook's folder.

    The kernel sees ``DLCOURSE_QUICK`` (``1`` or ``0``), ``DLCOURSE_RECORD_FILE`` and
    ``DLCOURSE_DATA`` as an absolute path (the kernel starts in another folder); a cell error,
    a cell running over ``timeout`` seconds, the whole notebook running over
    ``notebook_timeout`` seconds (its kernel is then stopped) or a dead kernel ends the run and
    is described in ``error``. Each cell keeps at most ``max_output_mb`` million characters of
    output (its first and last half; a warning says how much was cut). Ctrl-C stops the
    running cell, shuts the kernel down and returns with ``interrupted`` set; a second Ctrl-C
    kills the kernel and raises ``KeyboardInterrupt``.
    """
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several types for files that are not notebooks
        error = f"cannot read it as a notebook ({type(err).__name__}: {err})"
        return Execution(None, time.perf_counter() - start, {}, error)
    client = CappedClient(
        nb,
        timeout=timeout,
        kernel_manager_class=_ThisPythonKernel,
        resources={"metadata": {"path": str(path.parent)}},
        max_output=max(1, int(max_output_mb * 1_000_000)),
    )
    limit = _TimeLimit(client, notebook_timeout)
    with TemporaryDirectory(prefix="dlcourse-run-") as tmp, _Interrupt(client) as interrupt:
        tracker = _CellTracker(interrupt, limit)
        client.on_cell_execute = tracker
        record_file = Path(tmp) / "records.jsonl"
        env = with_thread_settings(
            {**os.environ, QUICK_ENV: "1" if quick else "0", RECORD_ENV: str(record_file)}
        )
        if env.get(DATA_ENV, "").strip():
            env[DATA_ENV] = os.path.abspath(os.path.expanduser(env[DATA_ENV].strip()))
        error = None
        failure = _execute_in_thread(client, env, limit)
        if isinstance(failure, Exception):  # the run failed; report it, let others run
            error = _describe(failure, nb, tracker.index, timeout)
        elif failure is not None:
            raise failure
        timed_out = isinstance(failure, CellTimeoutError)
        if limit.expired and failure is not None:
            timed_out = True
            kernel = "did not stop in time" if limit.left_behind else "was shut down"
            error = (
                f"stopped after {limit.seconds:g} s, the limit for the whole notebook (raise it "
                f"with --notebook-timeout), {_where(nb, tracker.index)}; its kernel {kernel}"
            )
        if interrupt.requested:
            error = f"interrupted by Ctrl-C {_where(nb, tracker.index)}"
            timed_out = False
        metrics, warnings = read_records(record_file)
    for index, chars in sorted(client.cut.items()):
        warnings.append(
            f"{_cell_name(nb, index)}: {megabytes(chars)} of output cut (a cell keeps "
            f"{max_output_mb:g} MB, its first and last half; raise it with --max-output-mb)"
        )
    elapsed = time.perf_counter() - start
    return Execution(
        nb, elapsed, metrics, error, interrupt.requested, tuple(warnings), timed_out=timed_out
    )


def _execute_in_thread(
    client: NotebookClient, env: dict[str, str], limit: _TimeLimit
) -> BaseException | None:
    """Run ``client.execute(env=env)`` in a worker thread while this thread waits, able to take
    Ctrl-C and keeping the time ``limit``; returns what it raised, if anything. When this
    thread gets ``KeyboardInterrupt`` (a second Ctrl-C) the kernel is killed and the interrupt
    raised."""
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
            if worker.is_alive() and limit.check():
                limit.left_behind = True  # the daemon thread stays behind; the run goes on
                return _Stop("its kernel did not stop")
    except KeyboardInterrupt:
        _signal_kernel(*_kernel_process(client), _KILL)
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
        what = shortened(f"{err.ename}: {err.evalue}", ERROR_CHARS)
    elif isinstance(err, CellTimeoutError):
        what = f"still running after {timeout} s, the per-cell limit (raise it with --timeout)"
    elif isinstance(err, DeadKernelError):
        what = "the kernel died (out of memory, or a crash in compiled code)"
    else:
        what = shortened(f"{type(err).__name__}: {err}", ERROR_CHARS)
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
