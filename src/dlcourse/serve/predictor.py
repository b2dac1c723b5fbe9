"""Texts in, labels and probabilities out, with the torch or the onnx backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dlcourse.data.text import pad_sequences
from dlcourse.serve.artifacts import ModelFolder, ModelFolderError, load_model_folder

BACKENDS = ("torch", "onnx")


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

    def encode(self, texts: list[str]) -> np.ndarray:
        """Token ids int64 [len(texts), maxlen], padded at the start like the training data."""
        seqs = [self.folder.vocab.encode(text) for text in texts]
        flat = np.fromiter((i for seq in seqs for i in seq), dtype=np.int64)
        lengths = np.array([len(seq) for seq in seqs], dtype=np.int64)
        return pad_sequences(flat, lengths, self.folder.maxlen)

    def logits(self, texts: list[str]) -> np.ndarray:
        """One logit per text, float32 [len(texts)]."""
        ids = self.encode(texts)
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
