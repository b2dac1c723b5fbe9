"""Texts in, labels and probabilities out, with the torch or the onnx backend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dlcourse.data.text import UNK_ID, pad_sequences, tokenize
from dlcourse.serve.artifacts import ModelFolder, ModelFolderError, load_model_folder

BACKENDS = ("torch", "onnx")
_CUT = re.compile(r"(?<!<br)\s|\s(?!/>)")  # whitespace, but not the space of "<br />"


@dataclass(frozen=True)
class Prediction:
    """One text's answer: the label and the model's probability for that label."""

    label: str
    probability: float


class Predictor:
    """A loaded model folder with a backend: ``predict(["text", ...])``.

    ``backend="onnx"`` runs ``model.onnx`` with onnxruntime (export it first with
    :func:`dlcourse.serve.export_onnx`); ``"torch"`` runs the PyTorch model. Both read the
    same vocabulary and padding, so they give the same answers up to rounding.
    """

    def __init__(self, folder: ModelFolder | str | Path, backend: str = "torch") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        self.folder = folder if isinstance(folder, ModelFolder) else load_model_folder(folder)
        self.backend = backend
        self._session = self._onnx_session() if backend == "onnx" else None

    def _onnx_session(self):  # -> onnxruntime.InferenceSession
        import onnxruntime

        path = self.folder.onnx_path
        if not path.is_file():
            raise ModelFolderError(
                f"model folder {self.folder.path}: no {path.name} for the onnx backend; "
                "export it with dlcourse.serve.export_onnx or use --backend torch."
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        try:
            return onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelFolderError(
                f"model folder {self.folder.path}: {path.name} is damaged ({err}); export it again."
            ) from None

    def tail_tokens(self, text: str) -> list[str]:
        """The last ``maxlen`` tokens of ``text`` (all of them when fewer), the same as
        ``tokenize(text)[-maxlen:]`` but tokenizing only the end of a long text: the model
        reads the last ``maxlen`` tokens, so a 20,000-character review costs about as much as
        one of ``maxlen`` words."""
        maxlen = self.folder.maxlen
        text = text.lower()
        size = 8 * maxlen + 64
        while size < len(text):
            # Cut at whitespace that is not the space of a "<br />" (which tokenize replaces):
            # no token holds whitespace, so the tokens after the cut are the text's own.
            cut = _CUT.search(text, len(text) - size)
            if cut is None:
                break
            tokens = tokenize(text[cut.end() :])
            if len(tokens) >= maxlen:
                return tokens[-maxlen:]
            size *= 4
        return tokenize(text)[-maxlen:]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Token ids int64 [len(texts), maxlen], padded at the start like the training data."""
        get = self.folder.vocab.stoi.get
        seqs = [[get(token, UNK_ID) for token in self.tail_tokens(text)] for text in texts]
        flat = np.fromiter((i for seq in seqs for i in seq), dtype=np.int64)
        lengths = np.array([len(seq) for seq in seqs], dtype=np.int64)
        return pad_sequences(flat, lengths, self.folder.maxlen)

    def logits(self, texts: list[str]) -> np.ndarray:
        """One logit per text, float32 [len(texts)]; at most ``folder.rows_per_pass`` texts go
        through the model at once, so one request's memory stays bounded."""
        ids = self.encode(texts)
        step = self.folder.rows_per_pass
        return np.concatenate([self._run(ids[i : i + step]) for i in range(0, len(ids), step)])

    def _run(self, ids: np.ndarray) -> np.ndarray:
        if self._session is not None:
            return self._session.run(None, {"ids": ids})[0].astype(np.float32)
        with torch.inference_mode():
            return self.folder.model(torch.from_numpy(ids)).numpy()

    def predict(self, texts: list[str]) -> list[Prediction]:
        """A label and its probability for each text."""
        if not texts:
            return []
        positive = 1.0 / (1.0 + np.exp(-self.logits(texts).astype(np.float64)))
        negative_name, positive_name = self.folder.classes
        return [
            Prediction(positive_name, float(p)) if p >= 0.5 else Prediction(negative_name, 1 - p)
            for p in positive
        ]
