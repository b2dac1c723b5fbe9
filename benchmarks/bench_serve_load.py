"""The sentiment service under load, on loopback: many clients, heavy requests, idle sockets.

Run by hand, under the CPU lock shared with other heavy work:

    flock /tmp/dlcourse-cpu.lock .venv/bin/python benchmarks/bench_serve_load.py [--model DIR]

Without ``--model`` it serves the untrained average-pooling model with the IMDB vocabulary (as
``bench_serve.py`` does). Three measurements, each bounded in time and in requests:

* ``load``: 16 clients send one-review requests for 30 s, per backend (torch, onnx): p50 / p99
  latency, requests per second, errors (answers other than 200 and failed connections).
* ``heavy``: one client sends one-review requests alone, then while 16 clients send requests of
  maximum size (64 texts, a body just under 1,000,000 bytes): the light requests' p50 / p99.
* ``idle``: the server runs under ``ulimit -n 1024``; 1,100 sockets connect and send nothing;
  ``/health`` is then asked 20 times on new connections: its latency, failures, and how many
  bytes the server wrote to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import resource
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from dlcourse.serve.client import free_port, running_server

REVIEW = (
    "A slow start, but the acting is superb and the ending moved me. The score is quiet and the "
    "photography is lovely; I would watch it again with friends. "
)


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50 and p99 of ``ms`` (NaN when empty)."""
    if not ms:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def hammer(
    url: str, body: dict, clients: int, seconds: float, max_requests: int, stop: threading.Event
) -> dict[str, float]:
    """``clients`` threads post ``body`` until ``seconds`` pass, ``max_requests`` are sent in
    all, or ``stop`` is set; latencies of the 200 answers and the count of errors."""
    deadline = time.monotonic() + seconds
    sent = iter(range(max_requests))
    lock = threading.Lock()

    def client(_: int) -> tuple[list[float], int]:
        times, errors = [], 0
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < deadline and not stop.is_set():
                with lock:
                    if next(sent, None) is None:
                        break
                began = time.perf_counter()
                try:
                    status = http.post("/predict", json=body).status_code
                except httpx.HTTPError:
                    status = 0
                if status == 200:
                    times.append((time.perf_counter() - began) * 1000)
                else:
                    errors += 1
        return times, errors

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - began
    times = [t for ts, _ in results for t in ts]
    errors = sum(e for _, e in results)
    return {**percentiles(times), "requests": len(times) + errors, "errors": errors,
            "requests_per_second": (len(times) + errors) / elapsed}  # fmt: skip


def load(url: str, clients: int, seconds: float) -> dict[str, float]:
    """One-review requests from ``clients`` clients for ``seconds``."""
    body = {"texts": [REVIEW]}
    return hammer(url, body, clients, seconds, max_requests=200_000, stop=threading.Event())


def heavy_body() -> dict:
    """64 texts in a body just under 1,000,000 bytes (the service's limits)."""
    text = (REVIEW * 200)[:15_400]
    return {"texts": [text] * 64}


def light_under_heavy(url: str, clients: int, seconds: float) -> dict[str, float]:
    """The light requests' latency alone, then while ``clients`` send maximum-size requests."""
    alone = hammer(url, {"texts": [REVIEW]}, 1, seconds / 3, 2_000, threading.Event())
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        heavy = pool.submit(hammer, url, heavy_body(), clients, seconds + 5, 100_000, stop)
        time.sleep(2)  # let the heavy clients start
        light = hammer(url, {"texts": [REVIEW]}, 1, seconds, 2_000, threading.Event())
        stop.set()
        heavy_result = heavy.result()
    return {
        "alone_p50_ms": alone["p50_ms"],
        "alone_p99_ms": alone["p99_ms"],
        "loaded_p50_ms": light["p50_ms"],
        "loaded_p99_ms": light["p99_ms"],
        "light_requests": light["requests"],
        "light_errors": light["errors"],
        "heavy_requests_per_second": heavy_result["requests_per_second"],
        "heavy_p50_ms": heavy_result["p50_ms"],
        "heavy_errors": heavy_result["errors"],
    }


class Drain(threading.Thread):
    """Reads a pipe to its end: counts the bytes, keeps the last 4 KB."""

    def __init__(self, pipe) -> None:
        super().__init__(daemon=True)
        self.pipe, self.bytes, self.tail = pipe, 0, b""

    def run(self) -> None:
        for chunk in iter(lambda: self.pipe.read1(65536), b""):
            self.bytes += len(chunk)
            self.tail = (self.tail + chunk)[-4096:]


@contextlib.contextmanager
def limited_server(
    model: Path, backend: str, nofile: int, extra: list[str]
) -> Iterator[tuple[str, Drain]]:
    """``dlcourse serve`` started by a shell that ran ``ulimit -n nofile`` first."""
    port = free_port()
    command = [sys.executable, "-m", "dlcourse.cli", "serve", "--model", str(model), "--port",
               str(port), "--backend", backend, *extra]  # fmt: skip
    shell = f"ulimit -n {nofile} && exec {shlex.join(command)}"
    process = subprocess.Popen(["bash", "-c", shell], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    drain = Drain(process.stderr)
    drain.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {drain.tail.decode(errors='replace')}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 60 s")
            time.sleep(0.1)
        yield url, drain
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drain.join(timeout=5)


def idle_sockets(
    model: Path, backend: str, sockets: int, nofile: int, extra: list[str]
) -> dict[str, float]:
    """Open ``sockets`` idle connections to a server limited to ``nofile`` descriptors, then time
    20 ``/health`` requests, each on a new connection with a 5 s timeout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < sockets + 100:  # this process needs a descriptor per socket too
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, sockets + 200), hard))
    with limited_server(model, backend, nofile, extra) as (url, drain):
        port = int(url.rsplit(":", 1)[1])
        held: list[socket.socket] = []
        began = time.monotonic()
        for _ in range(sockets):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            held.append(sock)
        time.sleep(1.0)  # the server accepts them
        opened = time.monotonic() - began
        times, failures = [], 0
        for _ in range(20):
            start = time.perf_counter()
            try:
                ok = httpx.get(f"{url}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = (time.perf_counter() - start) * 1000
            times.append(elapsed)
            failures += not ok
            time.sleep(0.1)
        closed = 0  # sockets the server answered or closed
        for sock in held:
            try:
                sock.recv(1, socket.MSG_PEEK)
                closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
            sock.close()
        stderr_bytes, tail = drain.bytes, drain.tail
    lines = tail.decode(errors="replace").strip().splitlines()
    return {"opened_s": opened, "health_p50_ms": float(np.percentile(times, 50)),
            "health_max_ms": max(times), "health_failures": failures,
            "sockets_closed_by_server": closed, "stderr_bytes": stderr_bytes,
            "stderr_last_line": lines[-1] if lines else ""}  # fmt: skip


def model_folder(path: Path) -> Path:
    """The untrained IMDB avgpool folder of ``bench_serve.py``, with its ONNX export."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_serve import untrained_folder

    from dlcourse.serve import export_onnx, load_model_folder

    untrained_folder(path)
    export_onnx(load_model_folder(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model folder with model.onnx")
    parser.add_argument("--parts", default="load,heavy,idle", help="comma-separated parts")
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--sockets", type=int, default=1100)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--server-args", default="", help="extra `dlcourse serve` options")
    args = parser.parse_args()
    parts, backends = args.parts.split(","), args.backends.split(",")
    extra = shlex.split(args.server_args)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{now}; {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or model_folder(Path(tmp) / "model")
        for backend in backends:
            if "load" in parts or "heavy" in parts:
                with running_server(model, backend) as url:
                    if "load" in parts:
                        result = load(url, args.clients, args.seconds)
                        print(f"load {backend}: {args.clients} clients, {args.seconds:.0f} s:",
                              {k: round(v, 2) for k, v in result.items()}, flush=True)  # fmt: skip
                    if "heavy" in parts:
                        result = light_under_heavy(url, args.clients, args.seconds)
                        print(f"heavy {backend}: {args.clients} heavy clients:",
                              {k: round(v, 2) for k, v in result.items()}, flush=True)  # fmt: skip
            if "idle" in parts:
                result = idle_sockets(model, backend, args.sockets, args.nofile, extra)
                print(f"idle {backend}: {args.sockets} sockets, ulimit -n {args.nofile}:",
                      {k: round(v, 2) if isinstance(v, float) else v
                       for k, v in result.items()}, flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
