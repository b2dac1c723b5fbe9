"""The model folder: ``config.json``, ``vocab.txt``, ``weights.pt`` and optionally ``model.onnx``.

Weights are loaded with ``torch.load(..., weights_only=True)``: a folder from elsewhere can
hold tensors, not code. ``config.json`` is checked against :mod:`dlcourse.serve.schema` (types
and bounds) before anything is built, and files far larger than the configuration needs are
refused before they are read. Every problem with a folder is a :class:`ModelFolderError` that
says which file is wrong and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlcourse.atomic import atomic_file
from dlcourse.data.text import PAD, UNK, Vocab
from dlcourse.text_models import build

CONFIG, VOCAB, WEIGHTS, ONNX = "config.json", "vocab.txt", "weights.pt", "model.onnx"
FORMAT = 1


class ModelFolderError(ValueError):
    """A model folder that is missing, incomplete or damaged."""


@dataclass
class ModelFolder:
    """A loaded model folder: the model (eval mode, CPU), its vocabulary and configuration;
    ``rows_per_pass`` reviews at most go through the model at once (bounded memory)."""

    path: Path
    model: nn.Module
    vocab: Vocab
    config: dict[str, Any]
    rows_per_pass: int = 64

    @property
    def maxlen(self) -> int:
        """Tokens per review the model reads (longer reviews keep their last ``maxlen``)."""
        return int(self.config["maxlen"])

    @property
    def classes(self) -> list[str]:
        """Label names, index 0 and 1."""
        return list(self.config["classes"])

    @property
    def onnx_path(self) -> Path:
        """Where the ONNX export lives (it may not exist)."""
        return self.path / ONNX


def save_model_folder(
    path: str | Path,
    model: nn.Module,
    vocab: Vocab,
    *,
    architecture: str,
    model_config: dict[str, Any],
    maxlen: int,
    classes: list[str],
    **info: Any,
) -> Path:
    """Write ``model`` (built by ``text_models.build(architecture, **model_config)``) with its
    vocabulary and configuration into the folder ``path``; ``info`` (plain data such as test
    accuracy) is kept in ``config.json``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT,
        "architecture": architecture,
        "model": model_config,
        "maxlen": maxlen,
        "classes": list(classes),
        "vocab_size": len(vocab),
        **info,
    }
    with atomic_file(path / CONFIG) as tmp:
        tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    with atomic_file(path / VOCAB) as tmp:
        tmp.write_text("\n".join(vocab.itos) + "\n", encoding="utf-8")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_file(path / WEIGHTS) as tmp:
        torch.save(state, tmp)
    return path


def _fail(path: Path, problem: str) -> ModelFolderError:
    return ModelFolderError(
        f"model folder {path}: {problem}. Check the path, or save the model (again) with "
        "dlcourse.serve.save_model_folder (see 08_NLP_Text/01_text_classification_deployment)."
    )


def _read_config(path: Path) -> tuple[dict[str, Any], int]:
    """``config.json`` parsed and checked against :mod:`dlcourse.serve.schema` (types, bounds),
    and the reviews per forward pass that keep one pass's memory bounded."""
    try:
        from dlcourse.serve.schema import MAX_CONFIG_BYTES, check_config
    except ImportError as err:  # pydantic comes with the serve extra (fastapi)
        raise _fail(path, f"{err.name} is missing: pip install 'dlcourse[serve]'") from None
    try:
        with open(path / CONFIG, "rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise _fail(path, f"{CONFIG} is over {MAX_CONFIG_BYTES:,} bytes")
        config = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _fail(path, f"{CONFIG} is not readable JSON ({err})") from None
    except RecursionError:
        raise _fail(path, f"{CONFIG} is nested too deeply to be read") from None
    try:
        checked = check_config(config)
    except ValueError as err:
        raise _fail(path, f"{CONFIG} is invalid: {err}") from None
    except RecursionError:
        raise _fail(path, f"{CONFIG} is nested too deeply to be checked") from None
    return config, checked.rows_per_pass()


def _read_vocab(path: Path, size: int) -> Vocab:
    if (path / VOCAB).stat().st_size > 256 * size + 4096:  # words are short: refuse a huge file
        raise _fail(path, f"{VOCAB} is far larger than {size} words")
    try:
        itos = (path / VOCAB).read_text(encoding="utf-8").split("\n")[:-1]
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(path, f"{VOCAB} is not readable ({err})") from None
    if len(itos) != size or itos[:2] != [PAD, UNK]:
        raise _fail(path, f"{VOCAB} holds {len(itos)} words, config.json says {size}")
    return Vocab(itos)


def load_model_folder(path: str | Path) -> ModelFolder:
    """Load and check a folder written by :func:`save_model_folder`; fails early and clearly."""
    path = Path(path)
    if not path.is_dir():
        raise _fail(path, "no such folder")
    missing = [name for name in (CONFIG, VOCAB, WEIGHTS) if not (path / name).is_file()]
    if missing:
        raise _fail(path, f"missing {', '.join(missing)}")
    config, rows_per_pass = _read_config(path)
    vocab = _read_vocab(path, int(config["vocab_size"]))
    try:
        model = build(config["architecture"], **config["model"])
    except (TypeError, ValueError) as err:
        raise _fail(path, f"cannot build the model from {CONFIG} ({err})") from None
    expected = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    size = (path / WEIGHTS).stat().st_size
    if size > 2 * expected + 1_000_000:
        raise _fail(path, f"{WEIGHTS} holds {size:,} bytes, the model needs {expected:,}")
    try:
        state = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as err:  # torch raises many types for damaged or mismatched files
        raise _fail(path, f"{WEIGHTS} is damaged or does not fit the model ({err})") from None
    return ModelFolder(path, model.eval(), vocab, config, rows_per_pass)


def export_onnx(folder: ModelFolder) -> Path:
    """Export the folder's model to ``model.onnx`` beside it (batch size free, ``maxlen`` ids).

    Written out in a cell of ``08_NLP_Text/01``; ``tests/test_serve_notebook.py`` keeps them equal.
    """
    example = torch.ones(2, folder.maxlen, dtype=torch.int64)
    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(
        folder.model,
        (example,),
        input_names=["ids"],
        output_names=["logits"],
        dynamic_shapes=({0: batch},),
        dynamo=True,
        verbose=False,
    )
    with atomic_file(folder.onnx_path) as tmp:
        program.save(str(tmp))
    return folder.onnx_path
