"""Time series helpers: windows, scaling, forecasting targets, the model and its checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.data.stimulus_response import Recording
from dlcourse.timeseries import (
    ResponseConfig,
    ResponseRun,
    Scalers,
    SequenceRNN,
    Standardizer,
    WarmupMSE,
    build_model,
    forecast_pairs,
    load_response_model,
    make_windows,
    predict_responses,
    r2_per_column,
    save_response_model,
    split_horizons,
    train_response_model,
    window_starts,
)
from dlcourse.train import History


def test_windows_never_cross_recordings():
    lengths = [50, 23, 37, 20]
    index = window_starts(lengths, window=20, stride=7)
    assert all(start >= 0 and start + 20 <= lengths[r] for r, start in index)
    for r, length in enumerate(lengths):  # each recording's end is covered
        assert length - 20 in index[index[:, 0] == r, 1]
    # a column holding the recording number and one holding the row number
    series = [np.stack([np.full(n, r), np.arange(n)], axis=1) for r, n in enumerate(lengths)]
    windows = make_windows(series, 20, 7)
    assert windows.shape == (len(index), 20, 2)
    for w, (r, start) in zip(windows, index, strict=True):
        assert torch.all(w[:, 0] == r)  # one recording only
        assert torch.equal(w[:, 1], torch.arange(start, start + 20, dtype=torch.float32))


def test_a_recording_shorter_than_the_window_is_refused():
    with pytest.raises(ValueError, match="recording 1 has 5 rows"):
        window_starts([30, 5], window=10, stride=5)


def test_standardizer_round_trip_and_dict():
    rng = np.random.default_rng(0)
    data = [rng.normal(2000, 100, (50, 3)), rng.normal(2000, 100, (30, 3))]
    scaler = Standardizer.fit(data)
    z = scaler.transform(np.concatenate(data))
    assert np.allclose(z.mean(axis=0), 0, atol=1e-5) and np.allclose(z.std(axis=0), 1, atol=1e-5)
    assert np.allclose(scaler.inverse(z), np.concatenate(data), atol=1e-2)
    assert Standardizer.from_dict(scaler.to_dict()) == scaler


def test_forecast_pairs_align_each_horizon():
    t = np.arange(20, dtype=float)[:, None]
    targets = np.hstack([t, 100 + t])
    x, y = forecast_pairs(t, targets, (1, 5))
    assert x.shape == (15, 1) and y.shape == (15, 4)
    by_h = split_horizons(y, 2)
    assert np.array_equal(by_h[0][:, 0], t[1:16, 0])
    assert np.array_equal(by_h[1][:, 1], 105 + t[:15, 0])


def test_r2_and_warmup_loss():
    truth = [np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]])]
    assert r2_per_column(truth, truth)[0] == 1.0
    assert r2_per_column([np.full((2, 1), 2.5)] * 2, truth)[0] == 0.0
    out, target = torch.zeros(2, 5, 1), torch.ones(2, 5, 1)
    out[:, :3] = 9.0
    assert WarmupMSE(3)(out, target).item() == 1.0


def tiny_recordings(n: int, seed: int) -> list[Recording]:
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        s = rng.random(60).astype(np.float32)
        responses = np.stack([2000 + 100 * s, 1500 - 50 * np.roll(s, 2)], axis=1)
        recs.append(Recording(f"r_{i}", s, responses.astype(np.float32)))
    return recs


def test_checkpoint_round_trip_with_statistics(tmp_path):
    recs = tiny_recordings(3, seed=0)
    config = ResponseConfig(hidden=8, layers=2, window=20, stride=10, warmup=5, seed=3)
    scalers = Scalers.fit(recs)
    run = ResponseRun(build_model(config, 2), History(), scalers, config, 0.0)
    path = save_response_model(tmp_path / "model.pt", run, val_r2=0.5, split={"train": ["r_0"]})
    model, loaded_scalers, loaded_config, meta = load_response_model(path)
    assert loaded_config == config
    assert loaded_scalers.stimulus == scalers.stimulus
    assert loaded_scalers.responses == scalers.responses
    assert meta["val_r2"] == 0.5 and meta["split"] == {"train": ["r_0"]}
    assert not model.training
    expected = predict_responses(run.model, scalers, recs[0])
    assert np.array_equal(predict_responses(model, loaded_scalers, recs[0]), expected)
    assert expected.shape == (60, 2) and 1000 < expected.mean() < 2500  # original units


def test_loading_another_checkpoint_is_refused(tmp_path):
    from dlcourse.train import save_model

    path = save_model(tmp_path / "plain.pt", SequenceRNN(outputs=2))
    with pytest.raises(ValueError, match="not saved by save_response_model"):
        load_response_model(path)


def test_training_runs_and_learns_a_little():
    recs = tiny_recordings(4, seed=1)
    config = ResponseConfig(hidden=8, layers=1, window=20, stride=10, warmup=5, epochs=3)
    run = train_response_model(recs[:3], recs[3:], config, cell="gru")
    assert run.config.cell == "gru" and len(run.history) == 3
    losses = run.history["train_loss"]
    assert losses[-1] < losses[0]


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceRNN("rnn")
