"""Training engine: in-memory batches, ``fit``/``evaluate``/``predict``, checkpoints."""

from dlcourse.train.batches import TensorBatches
from dlcourse.train.checkpoint import load_model, save_model
from dlcourse.train.early_stopping import EarlyStopping
from dlcourse.train.engine import evaluate, fit, predict
from dlcourse.train.history import History
from dlcourse.train.metrics import accuracy, mae, mse

__all__ = [
    "EarlyStopping",
    "History",
    "TensorBatches",
    "accuracy",
    "evaluate",
    "fit",
    "load_model",
    "mae",
    "mse",
    "predict",
    "save_model",
]
