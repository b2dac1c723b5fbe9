"""Training engine: batches, ``fit``/``evaluate``/``predict``, callbacks, checkpoints, scale-out."""

from dlcourse.train.batches import TensorBatches
from dlcourse.train.callbacks import Callback
from dlcourse.train.checkpoint import load_model, save_model
from dlcourse.train.ddp import World, distributed
from dlcourse.train.early_stopping import EarlyStopping
from dlcourse.train.engine import NonFiniteLossError, evaluate, fit, predict
from dlcourse.train.history import History
from dlcourse.train.metrics import accuracy, mae, mse

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "NonFiniteLossError",
    "TensorBatches",
    "World",
    "accuracy",
    "distributed",
    "evaluate",
    "fit",
    "load_model",
    "mae",
    "mse",
    "predict",
    "save_model",
]
