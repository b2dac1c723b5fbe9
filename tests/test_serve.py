"""The sentiment service: model folder, backends, and a real server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
import torch

from dlcourse.cli import main
from dlcourse.data.text import Vocab
from dlcourse.serve import (
    ModelFolderError,
    Predictor,
    export_onnx,
    load_model_folder,
    save_model_folder,
)
from dlcourse.text_models import build

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
from dlcourse.serve.client import running_server, throughput  # noqa: E402

WORDS = ["<pad>", "<unk>", "the", "movie", "was", "great", "awful", "boring", "!", "."]
CONFIG = {"num_words": len(WORDS), "dim": 4, "hidden": 3}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model")
    model = build("avgpool", **CONFIG)
    save_model_folder(
        path, model, Vocab(WORDS), architecture="avgpool", model_config=CONFIG,
        maxlen=16, classes=["negative", "positive"], test_accuracy=0.5,
    )  # fmt: skip
    return path


def test_folder_round_trip_gives_the_same_outputs(model_dir):
    folder = load_model_folder(model_dir)
    assert folder.config["test_accuracy"] == 0.5 and folder.maxlen == 16
    predictor = Predictor(folder)
    answers = predictor.predict(["The movie was great!", "awful, boring", ""])
    assert [a.label in ("negative", "positive") for a in answers] == [True] * 3
    assert all(0.5 <= a.probability <= 1.0 for a in answers)


def test_onnx_backend_matches_torch(model_dir):
    export_onnx(load_model_folder(model_dir))
    texts = ["The movie was great!", "awful . boring", "never seen words here", ""]
    torch_logits = Predictor(model_dir, backend="torch").logits(texts)
    onnx_logits = Predictor(model_dir, backend="onnx").logits(texts)
    assert abs(torch_logits - onnx_logits).max() <= 1e-4


def damage(src, dst, name: str, content: bytes | None) -> None:
    dst.mkdir()
    for file in src.iterdir():
        (dst / file.name).write_bytes(file.read_bytes())
    if content is None:
        (dst / name).unlink()
    else:
        (dst / name).write_bytes(content)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("weights.pt", None, "missing weights.pt"),
        ("weights.pt", b"not a checkpoint", "weights.pt is damaged"),
        ("config.json", b"{broken", "config.json is not readable JSON"),
        ("vocab.txt", b"<pad>\n<unk>\nthe\n", "vocab.txt holds 3 words"),
    ],
)
def test_damaged_folder_is_refused_clearly(model_dir, tmp_path, name, content, message):
    damage(model_dir, tmp_path / "bad", name, content)
    with pytest.raises(ModelFolderError, match=message):
        load_model_folder(tmp_path / "bad")


def test_serve_stops_at_start_up_on_a_missing_or_damaged_folder(model_dir, tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    damage(model_dir, tmp_path / "bad", "weights.pt", b"garbage")
    assert main(["serve", "--model", str(tmp_path / "bad")]) == 2
    assert "weights.pt is damaged" in capsys.readouterr().err


@pytest.fixture(scope="module")
def server(model_dir):
    with running_server(model_dir) as url:
        yield url


def test_health_docs_and_good_request(server):
    assert httpx.get(f"{server}/health").json()["status"] == "ok"
    # 404 (with the reason) where fastapi-offline is not installed: test_serve_hardening.py
    assert httpx.get(f"{server}/docs").status_code in (200, 404)
    assert "/predict" in httpx.get(f"{server}/openapi.json").json()["paths"]
    answer = httpx.post(f"{server}/predict", json={"texts": ["the movie was great !", "awful"]})
    assert answer.status_code == 200
    predictions = answer.json()["predictions"]
    assert len(predictions) == 2 and set(predictions[0]) == {"label", "probability"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (json.dumps({"text": ["a"]}).encode(), 422, "texts: Field required"),
        (json.dumps({"texts": ["ok", 3]}).encode(), 422, "texts.1: Input should be a valid string"),
        (json.dumps({"texts": []}).encode(), 422, "at least 1 item"),
        (json.dumps({"texts": ["a"] * 65}).encode(), 422, "at most 64 items"),
        (json.dumps({"texts": ["a" * 20_001]}).encode(), 422, "at most 20000 characters"),
        (json.dumps({"texts": ["a" * 20_000] * 60}).encode(), 413, "over 1,000,000 bytes"),
    ],
    ids=["invalid-json", "missing-field", "non-string", "empty", "too-many", "too-long", "body"],
)
def test_bad_requests_get_a_4xx_and_the_server_keeps_serving(server, body, status, message):
    headers = {"content-type": "application/json"}
    answer = httpx.post(f"{server}/predict", content=body, headers=headers)
    assert answer.status_code == status
    assert message in answer.json()["detail"]
    assert httpx.post(f"{server}/predict", json={"texts": ["fine"]}).status_code == 200


def test_streamed_body_over_the_limit_is_refused(server):
    def chunks():
        yield b'{"texts": ["'
        for _ in range(150):
            yield b"a" * 10_000
        yield b'"]}'

    headers = {"content-type": "application/json"}
    answer = httpx.post(f"{server}/predict", content=chunks(), headers=headers)
    assert answer.status_code == 413


def test_1000_requests_from_8_concurrent_clients_without_errors(server):
    result = throughput(server, "the movie was great !", clients=8, requests=1000)
    assert result["errors"] == 0 and result["requests_per_second"] > 0


def test_running_server_reports_why_it_did_not_start(tmp_path):
    with pytest.raises(RuntimeError, match="no such folder"), running_server(tmp_path / "none"):
        pass
