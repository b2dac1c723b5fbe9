"""The sentiment service against hostile clients and folders (issue 22): idle and half-sent
connections, running out of descriptors, shutdown with a stalled client, bad ``config.json``,
ports and addresses, offline docs, long texts. Servers run on loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dlcourse.cli import main
from dlcourse.data.text import Vocab, pad_sequences
from dlcourse.serve import ModelFolderError, Predictor, load_model_folder, save_model_folder
from dlcourse.text_models import build

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
from dlcourse.serve.client import start_server  # noqa: E402

WORDS = ["<pad>", "<unk>", "the", "movie", "was", "great", "awful", "boring", "!", ".", "don't"]
CONFIG = {"num_words": len(WORDS), "dim": 4, "hidden": 3}


def save(path, maxlen: int = 16, **config) -> str:
    torch.manual_seed(0)
    config = {**CONFIG, **config}
    save_model_folder(
        path, build("avgpool", **config), Vocab(WORDS), architecture="avgpool",
        model_config=config, maxlen=maxlen, classes=["negative", "positive"],
    )  # fmt: skip
    return str(path)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save(tmp_path_factory.mktemp("model"))


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def read_until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """What the server sends until it closes the connection, and whether it did within
    ``seconds``."""
    sock.settimeout(0.2)
    data, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset by the server
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


# --- item 7: config.json is checked: one line and exit status 2, no traceback -------------

BAD_CONFIGS = {
    "maxlen-string": ({"maxlen": "abc"}, "maxlen: Input should be a valid integer"),
    "classes-null": ({"classes": None}, "classes: Input should be a valid list"),
    "negative-dim": ({"model": {**CONFIG, "dim": -1}}, "model.dim: Input should be greater"),
    "huge-num-words": ({"model": {**CONFIG, "num_words": 10**13}}, "model.num_words"),
    "huge-maxlen": ({"maxlen": 2_000_000}, "maxlen: Input should be less than or equal to 4096"),
    "num-words-below-vocab": ({"model": {**CONFIG, "num_words": 5}}, "smaller than vocab_size"),
    "unknown-architecture": ({"architecture": "transformer"}, "architecture: Input should be"),
    "unknown-model-key": ({"model": {**CONFIG, "layers": 3}}, "model.layers: Extra inputs"),
    "deep-nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_refused_at_start_up_with_one_line(model_dir, tmp_path, capsys, case):
    change, message = BAD_CONFIGS[case]
    bad = tmp_path / "bad"
    bad.mkdir()
    for file in Path(model_dir).iterdir():
        (bad / file.name).write_bytes(file.read_bytes())
    config = json.loads((bad / "config.json").read_text())
    if isinstance(change, str):  # the whole file, or a key holding it
        text = json.dumps({**config, "notes": "@"}).replace('"@"', change)
    else:
        text = json.dumps({**config, **change})
    (bad / "config.json").write_text(text)
    with pytest.raises(ModelFolderError, match=re.escape(message)):
        load_model_folder(bad)
    assert main(["serve", "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_one_forward_pass_holds_a_bounded_number_of_values(tmp_path):
    from dlcourse.serve.schema import VALUES_PER_PASS

    # The widest avgpool allowed, at the longest maxlen allowed: 64 texts in one pass would
    # hold 64 x 4096 x 2048 floats (2 GB); passes of 4 rows hold 128 MB.
    predictor = Predictor(save(tmp_path / "wide", maxlen=4096, dim=2048, hidden=2048))
    rows: list[int] = []
    predictor.folder.model.register_forward_pre_hook(lambda _, args: rows.append(len(args[0])))
    texts = ["the movie was great !"] * 64
    logits = predictor.logits(texts)
    assert len(logits) == 64 and max(rows) * 4096 * 2048 <= VALUES_PER_PASS
    assert np.allclose(logits, logits[0])


# --- item 11: long texts cost about as much as maxlen tokens, with the same ids -----------


def test_long_texts_are_tokenized_from_their_end_only(model_dir, monkeypatch):
    import dlcourse.serve.predictor as module

    predictor = Predictor(model_dir)  # maxlen 16
    vocab, maxlen = predictor.folder.vocab, predictor.folder.maxlen
    pieces = ["the", "Movie", "WAS", "great", "!", ".", "don't", "<br />", "<BR />", "<br",
              "/>", "Σ", "ΣΑΣ", " ", "  ", "\n", "\t", "\u00a0", "awful!", "x'y"]  # fmt: skip
    rng = random.Random(0)
    texts = ["", "the", "a" * 20_000, " " * 20_000, "<br />" * 3000, "the " * 5000 + "awful"]
    texts += ["".join(rng.choices(pieces, k=rng.randint(0, 3000))) for _ in range(200)]
    for text in texts:
        ids = np.array(vocab.encode(text), dtype=np.int64)
        expected = pad_sequences(ids, np.array([len(ids)]), maxlen)
        assert (predictor.encode([text]) == expected).all(), text[:80]

    tokenized, tokenize = [], module.tokenize
    monkeypatch.setattr(module, "tokenize", lambda t: tokenized.append(len(t)) or tokenize(t))
    predictor.encode(["The movie was great! " * 1000])  # 21,000 characters
    assert sum(tokenized) <= 16 * maxlen + 200


# --- items 2 and 6: timeouts, the connection limit, shutdown -------------------------------


@pytest.fixture(scope="module")
def strict_server(model_dir):
    server = start_server(model_dir, args=["--timeout-request", "2", "--timeout-keep-alive", "2"])
    yield server
    server.stop()


def test_half_sent_requests_are_dropped_in_time_and_others_are_served(strict_server):
    url, port = strict_server.url, port_of(strict_server.url)
    half_headers = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    half_body = half_headers + b'Content-Length: 100\r\n\r\n{"texts": ["the'
    sockets = {"nothing": b"", "half headers": half_headers, "half body": half_body}
    opened = {}
    for name, data in sockets.items():
        opened[name] = socket.create_connection(("127.0.0.1", port))
        opened[name].sendall(data)
    began = time.monotonic()
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    answer = httpx.post(f"{url}/predict", json={"texts": ["the movie"]}, timeout=5)
    assert answer.status_code == 200
    for name, sock in opened.items():
        with sock:
            data, closed = read_until_closed(sock, 2 + 5 - (time.monotonic() - began))
        assert closed, f"{name}: still open after the 2 s timeout + 5 s"
        if name != "nothing":
            assert data.startswith(b"HTTP/1.1 408 "), (name, data[:100])
    assert "Traceback" not in strict_server.stderr.text


def test_connections_over_the_limit_close_those_that_wait_longest(model_dir):
    server = start_server(model_dir, args=["--limit-connections", "20", "--timeout-keep-alive",
                                           "60"])  # fmt: skip
    try:
        idle = [socket.create_connection(("127.0.0.1", port_of(server.url))) for _ in range(60)]
        time.sleep(0.5)
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
        closed = sum(read_until_closed(sock, 0.05)[1] for sock in idle)
        assert closed >= 40
        assert read_until_closed(idle[-1], 0.05) == (b"", False)  # the newest ones stay
        for sock in idle:
            sock.close()
    finally:
        assert server.stop() == 0
    err = server.stderr.text
    assert 1 <= err.count("too many connections") <= 2 and "Traceback" not in err, err


def test_health_answers_with_more_idle_sockets_than_descriptors(model_dir):
    """The server runs under ``ulimit -n 512``; 700 sockets connect and send nothing."""
    server = start_server(model_dir, nofile=512, args=["--timeout-keep-alive", "60"])
    idle = []
    try:
        for _ in range(700):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port_of(server.url)))
            idle.append(sock)
        time.sleep(1)
        for _ in range(3):
            began = time.monotonic()
            assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
            assert time.monotonic() - began < 5
    finally:
        for sock in idle:
            sock.close()
        assert server.stop() == 0
    err = server.stderr.text
    assert "Traceback" not in err and server.stderr.bytes < 20_000, err[-2000:]
    assert "at most 192 connections" in server.stdout.text


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGTERM], [signal.SIGINT], [signal.SIGINT, signal.SIGINT]],
    ids=["SIGTERM", "SIGINT", "SIGINT-twice"],
)
def test_shutdown_with_a_stalled_client_exits_0_in_time(model_dir, signals):
    server = start_server(model_dir, args=["--timeout-shutdown", "2", "--timeout-request", "60"])
    stalled = socket.create_connection(("127.0.0.1", port_of(server.url)))
    stalled.sendall(
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"texts": ["the movie'
    )
    time.sleep(0.5)  # the request is in the app, waiting for the rest of its body
    began = time.monotonic()
    for sig in signals:
        server.process.send_signal(sig)
        time.sleep(0.2)
    status = server.stop(None, timeout=2 + 8)
    elapsed = time.monotonic() - began
    stalled.close()
    err = server.stderr.text
    assert status == 0 and elapsed < 2 + 5, (status, elapsed, err[-2000:])
    assert "Traceback" not in err and "CancelledError" not in err, err[-2000:]


# --- item 10: ports, bind failures, IPv6 ---------------------------------------------------


def test_port_out_of_range_is_a_usage_error(model_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--model", model_dir, "--port", "99999"])
    assert exit_.value.code == 2 and "port 99999 is not in 0..65535" in capsys.readouterr().err


def test_bind_failure_is_one_line_and_nothing_is_announced(model_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", model_dir, "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "Serving" not in out
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and err.count("\n") == 1


def test_ipv6_url_is_printed_in_brackets(model_dir):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    server = start_server(model_dir, host="::1")
    try:
        assert re.fullmatch(r"http://\[::1\]:\d+", server.url), server.url
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
    finally:
        server.stop()


# --- item 11: /docs loads nothing from the internet ----------------------------------------


def test_docs_load_nothing_from_the_internet(strict_server):
    url = strict_server.url
    docs = httpx.get(f"{url}/docs", timeout=5)
    assert httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200
    if docs.status_code == 404:  # fastapi-offline is not installed
        assert "/openapi.json" in docs.json()["detail"]
        return
    assert docs.status_code == 200
    links = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", docs.text)
    links += re.findall(r"""url\s*:\s*['"]([^'"]+)['"]""", docs.text)
    assert links and all(link.startswith("/") for link in links), links
    for link in links:
        assert httpx.get(f"{url}{link}", timeout=5).status_code == 200, link


def test_docs_without_swagger_files_say_where_the_description_is(model_dir):
    from dlcourse.serve.app import create_app

    async def get(paths: list[str]) -> list:
        transport = httpx.ASGITransport(app=create_app(Predictor(model_dir), docs=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.get(path) for path in paths]

    docs, description = asyncio.run(get(["/docs", "/openapi.json"]))
    assert docs.status_code == 404 and "/openapi.json" in docs.json()["detail"]
    assert "/predict" in description.json()["paths"]
