"""Run the service in a subprocess and measure it: for the notebook, the benchmark and tests."""

from __future__ import annotations

import contextlib
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import numpy as np


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the last ``keep`` bytes and counting all of them (a
    server that is never read from would block once the pipe is full)."""

    def __init__(self, pipe: IO[bytes], keep: int = 1 << 20) -> None:
        super().__init__(daemon=True)
        self.pipe, self.keep = pipe, keep
        self.data, self.bytes = bytearray(), 0
        self.lines: queue.Queue[str] = queue.Queue()

    def run(self) -> None:
        for line in iter(self.pipe.readline, b""):
            self.bytes += len(line)
            self.data += line
            if len(self.data) > 2 * self.keep:
                del self.data[: -self.keep]
            self.lines.put(line.decode(errors="replace"))

    @property
    def text(self) -> str:
        """What was kept, decoded."""
        return self.data[-self.keep :].decode(errors="replace")


@dataclass
class ServerProcess:
    """A ``dlcourse serve`` subprocess: its URL, and its output read so far."""

    process: subprocess.Popen
    stdout: _Drain
    stderr: _Drain
    url: str = ""

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` (None: none), wait up to ``timeout`` s (then kill); the exit status."""
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.join(timeout=5)
        self.stderr.join(timeout=5)
        return self.process.returncode


def start_server(
    model_dir: str | Path,
    backend: str = "torch",
    host: str = "127.0.0.1",
    timeout: float = 60,
    args: Sequence[str] = (),
    nofile: int | None = None,
) -> ServerProcess:
    """Start ``dlcourse serve`` on a free port with extra ``args``, under ``ulimit -n nofile``
    when given; return once ``/health`` answers.

    Raises ``RuntimeError`` with the server's own message when it does not come up.
    """
    command = [sys.executable, "-m", "dlcourse.cli", "serve", "--model", str(model_dir)]
    command += ["--host", host, "--port", str(free_port(host)), "--backend", backend, *args]
    if nofile is not None:
        command = ["bash", "-c", f"ulimit -n {int(nofile)} && exec {shlex.join(command)}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    server = ServerProcess(process, _Drain(process.stdout), _Drain(process.stderr))
    server.stdout.start()
    server.stderr.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.url:
            with contextlib.suppress(queue.Empty):
                found = re.search(r" on (http://\S+) ", server.stdout.lines.get(timeout=0.1))
                server.url = found.group(1) if found else ""
            if process.poll() is not None:
                server.stderr.join(timeout=5)
                raise RuntimeError(f"the server stopped: {server.stderr.text.strip()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {timeout:.0f} s")
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                    return server
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer on {server.url}")
            time.sleep(0.1)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise


@contextmanager
def running_server(
    model_dir: str | Path,
    backend: str = "torch",
    host: str = "127.0.0.1",
    timeout: float = 60,
    args: Sequence[str] = (),
) -> Iterator[str]:
    """Start ``dlcourse serve`` in a subprocess on a free port; yield its URL; stop it after.

    Raises ``RuntimeError`` with the server's own message when it does not come up.
    """
    server = start_server(model_dir, backend, host, timeout, args)
    try:
        yield server.url
    finally:
        server.stop()


def latency(url: str, text: str, requests: int = 500, warmup: int = 20) -> dict[str, float]:
    """Milliseconds for one request holding one text, one request at a time: p50, p99, mean."""
    times = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(warmup + requests):
            began = time.perf_counter()
            http.post("/predict", json={"texts": [text]}).raise_for_status()
            if i >= warmup:
                times.append((time.perf_counter() - began) * 1000)
    ms = np.array(times)
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean())}  # fmt: skip


def throughput(url: str, text: str, clients: int = 8, requests: int = 1000) -> dict[str, float]:
    """Requests per second with ``clients`` concurrent clients sending ``requests`` in all,
    one text each; ``errors`` counts answers other than 200 and failed connections."""

    def client(n: int) -> int:
        errors = 0
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(n):
                try:
                    errors += http.post("/predict", json={"texts": [text]}).status_code != 200
                except httpx.HTTPError:
                    errors += 1
        return errors

    shares = [requests // clients + (i < requests % clients) for i in range(clients)]
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        errors = sum(pool.map(client, shares))
    seconds = time.perf_counter() - began
    return {"requests_per_second": requests / seconds, "errors": errors, "seconds": seconds}
