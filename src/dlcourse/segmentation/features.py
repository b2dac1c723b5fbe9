"""Per-pixel filter features for an ilastik-style random-forest pixel classifier (a baseline).

ilastik's pixel classification (Berg et al. 2019, *Nat. Methods* 16, 1226-1232) feeds a random
forest with multiscale filter responses of each pixel: intensity, Gaussian smoothing,
Laplacian of Gaussian and the eigenvalues of the structure tensor. For movies we add each
response's change over time: the response at frame ``t`` minus that at ``t - lag``, and at
``t + lag`` minus that at ``t`` (frames beyond the ends repeat the end frames, as
:meth:`dlcourse.data.timelapse.MicroscopyMovie.windows` does).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, gaussian_laplace
from skimage.feature import structure_tensor, structure_tensor_eigenvalues

SIGMAS = (1.0, 2.0, 4.0)
TENSOR_SIGMAS = (1.0, 2.0)


def filter_names(sigmas: tuple[float, ...] = SIGMAS) -> list[str]:
    """The names of :func:`frame_features`' channels, in order."""
    names = ["intensity"]
    names += [f"gaussian {s:g}" for s in sigmas]
    names += [f"LoG {s:g}" for s in sigmas]
    for s in TENSOR_SIGMAS:
        names += [f"tensor {s:g} large", f"tensor {s:g} small"]
    return names


def frame_features(frame: np.ndarray, sigmas: tuple[float, ...] = SIGMAS) -> np.ndarray:
    """Filter responses of one frame [H, W], as [H, W, F] float32 (:func:`filter_names`)."""
    frame = np.asarray(frame, dtype=np.float32)
    if frame.ndim != 2:
        raise ValueError(f"expected one frame [H, W], got shape {frame.shape}")
    out = [frame]
    out += [gaussian_filter(frame, s) for s in sigmas]
    out += [s**2 * gaussian_laplace(frame, s) for s in sigmas]  # scale-normalised
    for s in TENSOR_SIGMAS:
        tensor = structure_tensor(frame, sigma=s, order="rc")
        out += list(structure_tensor_eigenvalues(tensor))
    return np.stack(out, axis=-1).astype(np.float32)


def feature_names(sigmas: tuple[float, ...] = SIGMAS) -> list[str]:
    """The names of :func:`movie_features`' channels, in order."""
    base = filter_names(sigmas)
    return base + [f"{n}, t - lag" for n in base] + [f"{n}, t + lag" for n in base]


def movie_features(
    frames: np.ndarray, lag: int = 2, sigmas: tuple[float, ...] = SIGMAS
) -> np.ndarray:
    """Features of every pixel of a movie [T, H, W]: each frame's filter responses and their
    temporal differences (``f(t) - f(t - lag)``, ``f(t + lag) - f(t)``), [T, H, W, 3F]."""
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 3 or lag < 1:
        raise ValueError(f"expected frames [T, H, W] and lag >= 1, got {frames.shape}, {lag=}")
    static = np.stack([frame_features(f, sigmas) for f in frames])
    t = np.arange(len(frames))
    before = static[np.clip(t - lag, 0, len(frames) - 1)]
    after = static[np.clip(t + lag, 0, len(frames) - 1)]
    return np.concatenate([static, static - before, after - static], axis=-1)


def sample_pixels(
    masks: np.ndarray,
    categories: np.ndarray,
    n_per_class: int,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into the flattened [T, H, W] arrays) of training pixels, and their labels:
    up to ``n_per_class`` mitotic pixels, as many pixels of other objects (the look-alikes a
    user would scribble on) and as many of background (category 0)."""
    masks, categories = np.asarray(masks).ravel(), np.asarray(categories).ravel()
    if masks.shape != categories.shape:
        raise ValueError(f"masks {masks.shape} and categories {categories.shape} differ")
    rng = np.random.default_rng(seed)
    groups = [
        np.flatnonzero(masks > 0),
        np.flatnonzero((masks == 0) & (categories > 0)),
        np.flatnonzero((masks == 0) & (categories == 0)),
    ]
    picked = [rng.choice(g, min(n_per_class, len(g)), replace=False) for g in groups]
    index = np.concatenate(picked)
    return index, (masks[index] > 0).astype(np.int64)
