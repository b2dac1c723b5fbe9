"""Training a stimulus → response model on recordings, and saving it with what it needs.

A checkpoint holds the weights, the configuration (so the model can be rebuilt) and the
normalisation statistics of the training recordings (so new recordings are scaled the same
way and predictions come back in the original units).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlcourse.data.stimulus_response import Recording
from dlcourse.timeseries.metrics import WarmupMSE
from dlcourse.timeseries.models import SequenceRNN
from dlcourse.timeseries.scaling import Standardizer
from dlcourse.timeseries.windows import make_windows
from dlcourse.train import EarlyStopping, History, TensorBatches, fit, load_model, save_model
from dlcourse.train.checkpoint import safe_load


@dataclass(frozen=True)
class ResponseConfig:
    """Everything that defines a model and its training (times in rows)."""

    cell: str = "lstm"
    hidden: int = 48
    layers: int = 2
    window: int = 192
    stride: int = 64
    warmup: int = 64
    batch_size: int = 32
    lr: float = 3e-3
    epochs: int = 40
    patience: int = 6
    clip_grad_norm: float = 1.0
    seed: int = 0


@dataclass
class Scalers:
    """Normalisation of the stimulus (one column) and the responses (one per ROI)."""

    stimulus: Standardizer
    responses: Standardizer

    @classmethod
    def fit(cls, recordings: Sequence[Recording]) -> Scalers:
        """Statistics of the training recordings only."""
        return cls(
            Standardizer.fit([r.stimulus for r in recordings]),
            Standardizer.fit([r.responses for r in recordings]),
        )

    def inputs(self, recording: Recording) -> np.ndarray:
        """The scaled stimulus as ``[T, 1]``."""
        return self.stimulus.transform(recording.stimulus)[:, None]

    def targets(self, recording: Recording) -> np.ndarray:
        """The scaled responses ``[T, ROIs]``."""
        return self.responses.transform(recording.responses)


@dataclass
class ResponseRun:
    """A trained model with its history, scalers, configuration and training time."""

    model: SequenceRNN
    history: History
    scalers: Scalers
    config: ResponseConfig
    seconds: float


def build_model(config: ResponseConfig, n_rois: int) -> SequenceRNN:
    """The network ``config`` describes, freshly initialised with ``config.seed``."""
    torch.manual_seed(config.seed)
    return SequenceRNN(config.cell, 1, n_rois, config.hidden, config.layers)


def window_batches(
    recordings: Sequence[Recording], scalers: Scalers, config: ResponseConfig, shuffle: bool
) -> TensorBatches:
    """Scaled windows: stimulus ``[N, window, 1]`` and responses ``[N, window, ROIs]``."""
    x = make_windows([scalers.inputs(r) for r in recordings], config.window, config.stride)
    y = make_windows([scalers.targets(r) for r in recordings], config.window, config.stride)
    return TensorBatches(x, y, batch_size=config.batch_size, shuffle=shuffle, seed=config.seed)


def train_response_model(
    train: Sequence[Recording],
    val: Sequence[Recording],
    config: ResponseConfig = ResponseConfig(),
    scalers: Scalers | None = None,
    verbose: bool = True,
    **overrides: Any,
) -> ResponseRun:
    """Train ``config``'s network (``overrides`` change fields, e.g. ``cell="gru"``) on
    windows of the training recordings, with early stopping on the validation windows.

    Adam with the learning rate halved when the validation loss stalls, gradients clipped,
    loss :class:`WarmupMSE`; the best epoch's weights are restored at the end.
    """
    config = replace(config, **overrides)
    scalers = scalers or Scalers.fit(train)
    model = build_model(config, train[0].responses.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    started = time.perf_counter()
    history = fit(
        model,
        window_batches(train, scalers, config, shuffle=True),
        epochs=config.epochs,
        optimizer=optimizer,
        loss_fn=WarmupMSE(config.warmup),
        val=window_batches(val, scalers, config, shuffle=False),
        scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3),
        scheduler_step="epoch",
        early_stopping=EarlyStopping(patience=config.patience),
        clip_grad_norm=config.clip_grad_norm or None,
        verbose=verbose,
    )
    return ResponseRun(model, history, scalers, config, time.perf_counter() - started)


def predict_responses(model: SequenceRNN, scalers: Scalers, recording: Recording) -> np.ndarray:
    """The model's responses to a whole recording's stimulus, ``[T, ROIs]`` in original units."""
    model.eval()
    with torch.no_grad():
        z = model(torch.from_numpy(scalers.inputs(recording))[None])[0]
    return scalers.responses.inverse(z.numpy())


def save_response_model(path: str | Path, run: ResponseRun, **metadata: Any) -> Path:
    """Save weights, configuration and normalisation statistics (and any ``metadata``)."""
    return save_model(
        path,
        run.model,
        config=asdict(run.config),
        n_rois=run.model.head.out_features,
        stimulus_stats=run.scalers.stimulus.to_dict(),
        response_stats=run.scalers.responses.to_dict(),
        **metadata,
    )


def load_response_model(path: str | Path) -> tuple[SequenceRNN, Scalers, ResponseConfig, dict]:
    """Rebuild a model saved by :func:`save_response_model`: ``(model, scalers, config,
    metadata)``, the model in eval mode."""
    meta = safe_load(path).get("metadata", {})
    missing = {"config", "n_rois", "stimulus_stats", "response_stats"} - set(meta)
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}: it was not saved by save_response_model")
    config = ResponseConfig(**meta["config"])
    model = build_model(config, int(meta["n_rois"]))
    metadata = load_model(path, model)
    scalers = Scalers(
        Standardizer.from_dict(meta["stimulus_stats"]),
        Standardizer.from_dict(meta["response_stats"]),
    )
    return model.eval(), scalers, config, metadata
