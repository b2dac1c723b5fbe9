"""Time series helpers: windows, normalisation, recurrent models, training and checkpoints."""

from dlcourse.timeseries.forecast import forecast_pairs, split_horizons
from dlcourse.timeseries.metrics import WarmupMSE, r2_per_column
from dlcourse.timeseries.models import SequenceRNN, count_parameters
from dlcourse.timeseries.scaling import Standardizer
from dlcourse.timeseries.training import (
    ResponseConfig,
    ResponseRun,
    Scalers,
    build_model,
    load_response_model,
    predict_responses,
    save_response_model,
    train_response_model,
    train_rnn,
    window_batches,
)
from dlcourse.timeseries.windows import make_windows, window_starts

__all__ = [
    "ResponseConfig",
    "ResponseRun",
    "Scalers",
    "SequenceRNN",
    "Standardizer",
    "WarmupMSE",
    "build_model",
    "count_parameters",
    "forecast_pairs",
    "load_response_model",
    "make_windows",
    "predict_responses",
    "r2_per_column",
    "save_response_model",
    "split_horizons",
    "train_response_model",
    "train_rnn",
    "window_batches",
    "window_starts",
]
