"""Helpers for the data-layer tests: datasets written in their real formats, a local HTTP
server, and a network block."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import socket
import struct
import tarfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pooch
from PIL import Image

import dlcourse.data.download as download_module
import dlcourse.data.imdb as imdb_module
import dlcourse.data.store as store_module


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- Fashion-MNIST idx files --------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file of unsigned bytes holding ``array``."""
    magic = 0x0800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def fashion_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


def fashion_files(n_train: int = 12, n_test: int = 5) -> dict[str, bytes]:
    """The four idx files (plain bytes) by their official names."""
    files = {}
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = fashion_arrays(n, seed)
        files[f"{prefix}-images-idx3-ubyte"] = idx_bytes(images)
        files[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(labels)
    return files


def write_fashion(root: Path, gz: bool = False, **sizes: int) -> Path:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, data in fashion_files(**sizes).items():
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (raw / name).write_bytes(data)
    return raw


# --- CIFAR-10 pickle batches --------------------------------------------------------------

CIFAR_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def cifar_batch(n: int, seed: int) -> dict:
    """A batch as the official files hold it: bytes keys, data uint8 N x 3072, labels list."""
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"fixture batch",
        b"labels": [int(i % 10) for i in range(n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }


def write_cifar(root: Path, per_batch: int = 20) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        with open(folder / name, "wb") as fh:
            pickle.dump(cifar_batch(per_batch, seed), fh, protocol=2)
    meta = {b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_vis": 3072}
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump(meta, fh, protocol=2)
    return folder


# --- IMDB review tree ---------------------------------------------------------------------


def expect_imdb_counts(monkeypatch, reviews: dict[tuple[str, str], list[str]]) -> None:
    """Make the IMDB folder check expect the fixture's review counts instead of 12,500 per
    class (each split must have as many reviews in both classes)."""
    counts = {}
    for (split, _), texts in reviews.items():
        assert counts.setdefault(split, len(texts)) == len(texts), "unequal classes in a split"
    monkeypatch.setattr(imdb_module, "EXPECTED_REVIEWS", counts)


def write_imdb(root: Path, reviews: dict[tuple[str, str], list[str]]) -> Path:
    """``reviews[(split, label)]`` -> texts, written as ``aclImdb/split/label/{i}_7.txt``
    (use :func:`expect_imdb_counts` so that the loader takes so few reviews as complete)."""
    folder = root / "aclImdb"
    for (split, label), texts in reviews.items():
        directory = folder / split / label
        directory.mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(texts):
            (directory / f"{i}_7.txt").write_text(text, encoding="utf-8")
    return folder


# --- ISBI PNG pairs -----------------------------------------------------------------------


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def isbi_arrays(i: int, side: int = 8) -> tuple[np.ndarray, np.ndarray]:
    image = ((np.arange(side * side).reshape(side, side) + i) % 256).astype(np.uint8)
    label = np.where((np.arange(side)[:, None] + i) % 3 == 0, 0, 255).astype(np.uint8)
    return image, np.broadcast_to(label, (side, side)).copy()


def isbi_files(side: int = 8) -> dict[str, bytes]:
    files = {}
    for i in range(30):
        image, label = isbi_arrays(i, side)
        files[f"image/{i}.png"] = png_bytes(image)
        files[f"label/{i}.png"] = png_bytes(label)
    return files


def write_isbi(root: Path, side: int = 8) -> Path:
    folder = root / "isbi2012" / "train"
    for name, data in isbi_files(side).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


# --- tar archives -------------------------------------------------------------------------


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    """A .tar.gz of ``(name, content)`` files and ready-made TarInfo entries (links, devices)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def folder_tar(folder: Path, arcname: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return buffer.getvalue()


# --- a local HTTP server ------------------------------------------------------------------


class FileServer:
    """Serves ``routes[path] = (body, mode)`` on 127.0.0.1; counts requests in ``hits``.

    Modes: ``"ok"``; ``"truncate"`` sends half the body after promising all of it, then closes;
    ``"flaky"`` truncates the first request and serves the later ones whole.
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits[self.path] += 1
                if self.path not in server.routes:
                    self.send_error(404)
                    return
                body, mode = server.routes[self.path]
                cut = mode == "truncate" or (mode == "flaky" and server.hits[self.path] == 1)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, body: bytes, mode: str = "ok") -> str:
        """Serve ``body`` at ``path``; returns its URL."""
        self.routes[path] = (body, mode)
        return self.base + path

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serve() -> Iterator[FileServer]:
    server = FileServer()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


# --- no network, no hashing ---------------------------------------------------------------


def _refuse(what: str, error: type[Exception]):
    def refuse(*args: object, **kwargs: object):
        raise error(f"the data layer tried to {what} (blocked by the test)")

    return refuse


def block_network(monkeypatch, strict: bool = True) -> None:
    """Take the network away: connections fail as they do offline. ``strict`` also makes any
    download attempt or file hashing fail the test."""
    monkeypatch.setattr(socket.socket, "connect", _refuse("open a connection", OSError))
    monkeypatch.setattr(socket, "getaddrinfo", _refuse("resolve a host name", OSError))
    if strict:
        monkeypatch.setattr(pooch, "create", _refuse("start a download", AssertionError))
        monkeypatch.setattr(download_module, "hash_matches", _refuse("hash a file", AssertionError))
        monkeypatch.setattr(store_module, "hash_matches", _refuse("hash a file", AssertionError))
