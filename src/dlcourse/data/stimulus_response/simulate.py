"""A simulator of stimulus → response imaging experiments.

Each recording is a stimulus (column 0, in [0, 1]) shown to a fixed set of imaging regions
(ROIs). Every ROI responds through a cascade like a neuron seen through a calcium indicator:
a delayed, possibly adapting temporal filter of the stimulus (ON cells see the stimulus, OFF
cells its complement), a saturating Hill nonlinearity, then the indicator's rise and decay.
The fluorescence rides on a baseline of about 2,000 with slow drift (bleaching) and noise.
One row is one imaging frame (think of 10 frames per second).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

STIMULUS_KINDS = ("sin2", "pulses", "noise")


@dataclass(frozen=True)
class Roi:
    """One region's response properties (fixed for an experiment; times in rows)."""

    delay: int
    tau_fast: float  # the neural filter's time constant
    adaptation: float  # 0 = sustained, towards 1 = transient (responds to changes)
    tau_adapt: float
    polarity: str  # "on", "off" (responds to 1 - stimulus) or "onoff" (to changes either way)
    hill_n: float
    hill_k: float
    tau_rise: float  # calcium indicator
    tau_decay: float
    gain: float  # fluorescence units at saturation
    baseline: float
    noise: float  # noise standard deviation, as a fraction of ``gain``


def make_rois(n_rois: int = 10, seed: int = 0) -> list[Roi]:
    """Draw ``n_rois`` regions with varied delays, kinetics and nonlinearities."""
    rng = np.random.default_rng([seed, 1])
    return [
        Roi(
            delay=int(rng.integers(2, 9)),
            tau_fast=float(rng.uniform(1.0, 3.0)),
            adaptation=float(rng.choice([0.0, rng.uniform(0.4, 0.8)])),
            tau_adapt=float(rng.uniform(8.0, 20.0)),
            polarity=str(rng.choice(["on", "on", "off", "onoff"])),
            hill_n=float(rng.uniform(2.0, 4.0)),
            hill_k=float(rng.uniform(0.3, 0.6)),
            tau_rise=float(rng.uniform(1.0, 3.0)),
            tau_decay=float(rng.uniform(8.0, 25.0)),
            gain=float(rng.uniform(300.0, 900.0)),
            baseline=float(rng.uniform(1600.0, 2400.0)),
            noise=float(rng.uniform(0.02, 0.04)),
        )
        for _ in range(n_rois)
    ]


def _smooth_noise(n: int, rng: np.random.Generator, tau: float) -> np.ndarray:
    """Gaussian noise low-passed with time constant ``tau`` rows, standardised."""
    white = rng.standard_normal(n + int(5 * tau))
    out = _exp_filter(white, tau)[-n:]
    return (out - out.mean()) / out.std()


def make_stimulus(
    kind: str, n_rows: int, rng: np.random.Generator, period: float | None = None
) -> np.ndarray:
    """A stimulus in [0, 1]: ``"sin2"`` (sin² wave of ``period`` rows), ``"pulses"`` (square
    pulses of random length and contrast) or ``"noise"`` (naturalistic, slowly varying)."""
    t = np.arange(n_rows, dtype=np.float64)
    if kind == "sin2":
        if period is None or period <= 0:
            raise ValueError("a sin2 stimulus needs a positive period (in rows)")
        return np.sin(np.pi * t / period + rng.uniform(0, np.pi)) ** 2
    if kind == "pulses":
        stim = np.zeros(n_rows)
        pos = int(rng.integers(10, 80))
        while pos < n_rows:
            length = int(rng.integers(8, 60))
            stim[pos : pos + length] = rng.uniform(0.3, 1.0)
            pos += length + int(rng.integers(20, 120))
        return stim
    if kind == "noise":
        mix = _smooth_noise(n_rows, rng, 25.0) + 0.5 * _smooth_noise(n_rows, rng, 4.0)
        return 1.0 / (1.0 + np.exp(-1.5 * mix))
    raise ValueError(f"unknown stimulus kind {kind!r}; choose one of {STIMULUS_KINDS}")


def _exp_filter(x: np.ndarray, tau: float) -> np.ndarray:
    """Causal first-order low-pass with unit gain (time constant ``tau`` rows)."""
    alpha = 1.0 - np.exp(-1.0 / tau)
    out, _ = lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])
    return out


def roi_signal(stimulus: np.ndarray, roi: Roi) -> np.ndarray:
    """The noise-free response (ΔF, in fluorescence units) of ``roi`` to ``stimulus``."""
    drive = 1.0 - stimulus if roi.polarity == "off" else stimulus
    drive = np.concatenate([np.full(roi.delay, drive[0]), drive[: len(drive) - roi.delay]])
    fast = _exp_filter(drive, roi.tau_fast)
    if roi.polarity == "onoff":  # transient, to increases and decreases alike
        neural = 2.0 * np.abs(fast - _exp_filter(fast, roi.tau_adapt))
    else:
        neural = fast - roi.adaptation * _exp_filter(fast, roi.tau_adapt)
        neural = np.clip(neural / (1.0 - 0.5 * roi.adaptation), 0.0, None)
    rate = neural**roi.hill_n / (neural**roi.hill_n + roi.hill_k**roi.hill_n)
    calcium = _exp_filter(_exp_filter(rate, roi.tau_rise), roi.tau_decay)
    return roi.gain * calcium


def simulate_recording(
    stimulus: np.ndarray, rois: list[Roi], rng: np.random.Generator
) -> np.ndarray:
    """One recording as the CSV holds it: [rows, 1 + ROIs], stimulus then each ROI's
    fluorescence (baseline + response + drift + noise), rounded as written to the file."""
    n = len(stimulus)
    t = np.arange(n) / n
    columns = [np.round(stimulus, 6)]
    for roi in rois:
        bleach = -rng.uniform(0.0, 0.03) * roi.gain * t
        wobble = rng.uniform(0.0, 0.03) * roi.gain * np.sin(2 * np.pi * (t + rng.random()))
        noise = rng.normal(0.0, roi.noise * roi.gain, n)
        trace = roi.baseline + roi_signal(stimulus, roi) + bleach + wobble + noise
        columns.append(np.round(trace, 3))
    return np.stack(columns, axis=1)
