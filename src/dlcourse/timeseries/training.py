"""Training a stimulus → response model on recordings, and saving it with what it needs.

A checkpoint holds the weights, the configuration (so the model can be rebuilt) and the
normalisation statistics of the training recordings (so new recordings are scaled the same
way and predictions come back in the original units).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlcourse.data.stimulus_response import Recording
from dlcourse.timeseries.metrics import WarmupMSE
from dlcourse.timeseries.models import SequenceRNN
from dlcourse.timeseries.scaling import Standardizer
from dlcourse.timeseries.windows import make_windows
from dlcourse.train import History, TensorBatches, load_model, save_model
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


def train_rnn(
    model: nn.Module,
    train_batches: TensorBatches,
    val_batches: TensorBatches,
    config: ResponseConfig,
) -> History:
    """Train on windows with Adam, the warm-up loss and gradients clipped to one global norm;
    halve the learning rate after 4 epochs without a lower validation loss, stop after
    ``config.patience`` such epochs, and end with the weights of the best epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
    loss_fn = WarmupMSE(config.warmup)
    history, best_loss, best_state, wait = History(), math.inf, None, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        train_sum, train_n = 0.0, 0
        for x, y in train_batches:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
            optimizer.step()
            train_sum, train_n = train_sum + loss.item() * len(x), train_n + len(x)
        model.eval()
        val_sum, val_n = 0.0, 0
        with torch.no_grad():
            for x, y in val_batches:
                val_sum, val_n = val_sum + loss_fn(model(x), y).item() * len(x), val_n + len(x)
        val_loss = val_sum / val_n
        lr = optimizer.param_groups[0]["lr"]
        history.records.append(
            {"epoch": epoch, "train_loss": train_sum / train_n, "val_loss": val_loss, "lr": lr}
        )
        scheduler.step(val_loss)
        if val_loss < best_loss:
            best_loss, best_state, wait = val_loss, copy.deepcopy(model.state_dict()), 0
            history.best_epoch = epoch
        else:
            wait += 1
            if wait >= config.patience:
                history.stopped_early = True
                break
    model.load_state_dict(best_state)
    return history


def train_response_model(
    train: Sequence[Recording],
    val: Sequence[Recording],
    config: ResponseConfig = ResponseConfig(),
    scalers: Scalers | None = None,
    **overrides: Any,
) -> ResponseRun:
    """Train ``config``'s network (``overrides`` change fields, e.g. ``cell="gru"``) with
    :func:`train_rnn` on windows of the training recordings, stopping early on the validation
    recordings' windows. Notebook 00 of ``07_Time_Series`` writes ``train_rnn`` out."""
    config = replace(config, **overrides)
    scalers = scalers or Scalers.fit(train)
    model = build_model(config, train[0].responses.shape[1])
    started = time.perf_counter()
    history = train_rnn(
        model,
        window_batches(train, scalers, config, shuffle=True),
        window_batches(val, scalers, config, shuffle=False),
        config,
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
