"""Serving a trained text classifier: the model folder, two backends, and a FastAPI app.

``save_model_folder`` / ``load_model_folder`` write and read the artefacts (weights,
vocabulary, configuration, optional ONNX file); :class:`Predictor` turns texts into labels
with the torch or the onnx backend; :func:`dlcourse.serve.app.create_app` (needs the
``serve`` extra: fastapi, uvicorn) puts a predictor behind HTTP; ``dlcourse serve`` runs it
with the timeouts, connection limit and bounded shutdown of :mod:`dlcourse.serve.server`.
``config.json`` is checked by :mod:`dlcourse.serve.schema`. docs/serve.md says how the service
treats misbehaving clients and folders.
"""

from dlcourse.serve.artifacts import (
    ModelFolder,
    ModelFolderError,
    export_onnx,
    load_model_folder,
    save_model_folder,
)
from dlcourse.serve.predictor import Predictor

__all__ = [
    "ModelFolder",
    "ModelFolderError",
    "Predictor",
    "export_onnx",
    "load_model_folder",
    "save_model_folder",
]
