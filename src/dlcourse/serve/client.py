"""Run the service in a subprocess and measure it: for the notebook, the benchmark and tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    model_dir: str | Path, backend: str = "torch", host: str = "127.0.0.1", timeout: float = 60
) -> Iterator[str]:
    """Start ``dlcourse serve`` in a subprocess on a free port; yield its URL; stop it after.

    Raises ``RuntimeError`` with the server's own message when it does not come up.
    """
    port = free_port(host)
    command = [sys.executable, "-m", "dlcourse.cli", "serve", "--model", str(model_dir)]
    command += ["--host", host, "--port", str(port), "--backend", backend]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {process.stderr.read().decode().strip()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
