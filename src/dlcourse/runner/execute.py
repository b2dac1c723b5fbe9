"""Execute one notebook with nbclient in this Python, collecting the metrics it records."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
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

from dlcourse.config import QUICK_ENV, RECORD_ENV
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

    ``notebook`` is None when the file could not be read as a notebook at all.
    """

    notebook: NotebookNode | None
    seconds: float
    metrics: dict[str, Metric]
    error: str | None


class _CellTracker:
    """nbclient hook remembering which cell runs, to name it when something goes wrong."""

    def __init__(self) -> None:
        self.index: int | None = None

    def __call__(self, cell: NotebookNode, cell_index: int) -> None:
        self.index = cell_index


def execute_notebook(path: Path, *, quick: bool, timeout: int) -> Execution:
    """Run every cell of ``path`` in a fresh kernel started in the notebook's folder.

    The kernel sees ``DLCOURSE_QUICK`` (``1`` or ``0``) and ``DLCOURSE_RECORD_FILE``; a cell
    error, a cell running over ``timeout`` seconds or a dead kernel ends the run and is
    described in ``error``.
    """
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several types for files that are not notebooks
        error = f"cannot read it as a notebook ({type(err).__name__}: {err})"
        return Execution(None, time.perf_counter() - start, {}, error)
    tracker = _CellTracker()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_manager_class=_ThisPythonKernel,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_execute=tracker,
    )
    with TemporaryDirectory(prefix="dlcourse-run-") as tmp:
        record_file = Path(tmp) / "records.jsonl"
        env = {**os.environ, QUICK_ENV: "1" if quick else "0", RECORD_ENV: str(record_file)}
        error = None
        try:
            client.execute(env=env)
        except Exception as err:  # the run failed; report it and let other notebooks run
            error = _describe(err, nb, tracker.index, timeout)
        metrics = read_records(record_file)
    return Execution(nb, time.perf_counter() - start, metrics, error)


def read_records(path: Path) -> dict[str, Metric]:
    """The metrics ``dlcourse.report.record`` appended to ``path``; later values win."""
    metrics: dict[str, Metric] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                metrics.update(json.loads(line))
    return metrics


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
    lines = [line.strip() for line in nb.cells[index].source.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > 60:
        first = first[:57] + "..."
    return f"cell {index + 1} of {len(nb.cells)} (`{first}`): {what}"
