"""Simulated time-lapse microscopy frames with mitotic cells to detect (notebooks 06/01-03).

One image-formation model per modality, each a simplified version of the physics:

- ``"brightfield"`` (HeLa-like): cells absorb light (Beer-Lambert, ``I = I0 exp(-A)``), with a
  textured cytoplasm, a nucleus with nucleoli and dark borders; the microscope is slightly out
  of focus (Gaussian blur) and the illumination uneven (a smooth gain across the field).
- ``"phase_contrast"``: cells are phase objects (optical path ∝ thickness). Phase contrast
  turns phase into intensity but lets low spatial frequencies through unshifted, which we
  model as ``I = 1 - α (φ - G_σ * φ)``: a dark cell with a bright **halo** around it, and
  **shade-off** (the interior of a wide flat cell fades back to the background).
- ``"xenopus"``: a 3D stack of tightly packed epithelial cells (a Voronoi tessellation that
  shifts slowly with depth) with a fluorescent membrane marker and a weak chromatin marker;
  planes away from focus are blurrier; the frame is the maximum projection of the planes
  around the central one.

In each frame 5-10 % of the cells are **mitotic**: rounded, with condensed chromatin (a
metaphase plate or two anaphase sets), brighter or halo-rimmed as the modality implies. Each
frame also holds **look-alikes** (apoptotic cells and debris in brightfield and phase contrast,
cells with a bright nucleus in Xenopus) that round up or shine as much but lack condensed
chromatin. Photon (Poisson) noise and camera read noise come last.

The truth is a mask of the mitotic cells and their centroids (row, column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree
from skimage.segmentation import find_boundaries

MODALITIES = ("brightfield", "phase_contrast", "xenopus")
NORMAL, MITOTIC, LOOKALIKE = 0, 1, 2


@dataclass(repr=False)
class MicroscopyFrames:
    """Frames float32 [N, 1, H, W], masks uint8 [N, 1, H, W] (1 = mitotic cell) and, per
    frame, the mitotic cells' centroids as a float array [K, 2] of (row, column)."""

    images: torch.Tensor
    masks: torch.Tensor
    centroids: list[np.ndarray]
    modality: str

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        n_mitotic = sum(len(c) for c in self.centroids)
        shape = "x".join(str(n) for n in self.images.shape)
        return f"MicroscopyFrames({self.modality}: images {shape}, {n_mitotic} mitotic cells)"


@dataclass
class _Cell:
    row: float
    col: float
    radius: float
    elongation: float
    angle: float
    kind: int
    harmonics: np.ndarray  # [k, 3]: order, amplitude, phase of the outline's wobble


def _place_cells(
    rng: np.random.Generator, size: int, density: float, lookalikes: float = 0.07
) -> list[_Cell]:
    """Dart throwing: cells of radius 6-11 px that overlap their neighbours only a little."""
    cells: list[_Cell] = []
    target = int(density * size * size / 400)
    mitotic_share = rng.uniform(0.05, 0.10)
    for _ in range(target * 30):
        if len(cells) >= target:
            break
        radius = rng.uniform(8, 11)
        row, col = rng.uniform(0, size, 2)
        if any(np.hypot(c.row - row, c.col - col) < 0.85 * (c.radius + radius) for c in cells):
            continue
        kind = rng.choice(3, p=[1 - mitotic_share - lookalikes, mitotic_share, lookalikes])
        if kind != NORMAL:  # rounded cells are smaller, and lie wholly inside the frame
            radius = rng.uniform(6, 8.5)
            if min(row, col, size - row, size - col) < radius + 2:
                kind = NORMAL
        if kind == NORMAL:
            orders, amp = np.arange(2, 5), 0.08
        elif kind == MITOTIC:
            orders, amp = np.arange(2, 4), 0.02
        else:  # blebbing outline
            orders, amp = np.arange(5, 9), 0.09
        harmonics = np.stack(
            [orders, rng.uniform(0, amp, len(orders)), rng.uniform(0, 2 * np.pi, len(orders))], 1
        )
        elongation = rng.uniform(1.0, 1.6) if kind == NORMAL else 1.0
        cells.append(_Cell(row, col, radius, elongation, rng.uniform(0, np.pi), kind, harmonics))
    return cells


def _polar(cell: _Cell, rr: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from the centre relative to the outline (1 on it), and the cell-frame angle."""
    dy, dx = rr - cell.row, cc - cell.col
    cos, sin = np.cos(cell.angle), np.sin(cell.angle)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    theta = np.arctan2(v, u)
    ellipse = cell.radius / np.sqrt(
        (np.cos(theta) / np.sqrt(cell.elongation)) ** 2
        + (np.sin(theta) * np.sqrt(cell.elongation)) ** 2
    )
    wobble = 1 + sum(a * np.cos(k * theta + p) for k, a, p in cell.harmonics)
    return np.hypot(u, v) / (ellipse * wobble), theta


def _chromatin(rng: np.random.Generator, cell: _Cell, rr, cc) -> np.ndarray:
    """Condensed chromatin: a metaphase plate (a bar) or two anaphase sets (parallel bars)."""
    angle = rng.uniform(0, np.pi)
    dy, dx = rr - cell.row, cc - cell.col
    along = dx * np.cos(angle) + dy * np.sin(angle)
    across = -dx * np.sin(angle) + dy * np.cos(angle)
    length = 0.55 * cell.radius
    offsets = [0.0] if rng.random() < 0.6 else [-0.3 * cell.radius, 0.3 * cell.radius]
    bars = sum(np.exp(-(((across - o) / 1.3) ** 2) - (along / length) ** 8) for o in offsets)
    return np.minimum(bars, 1.0)


def _granules(rng: np.random.Generator, cell: _Cell, rr, cc, count: int, sigma: float):
    """Scattered round granules inside a cell (apoptotic bodies, nucleoli, vesicles)."""
    out = np.zeros_like(rr)
    for _ in range(count):
        r, a = cell.radius * 0.6 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
        y, x = cell.row + r * np.sin(a), cell.col + r * np.cos(a)
        out += np.exp(-((rr - y) ** 2 + (cc - x) ** 2) / (2 * sigma**2))
    return np.minimum(out, 1.0)


def _render_cells(rng, cells, size, modality):
    """Per-pixel maps: absorbance (brightfield) or phase (phase contrast), lens, truth mask."""
    rr, cc = np.mgrid[0:size, 0:size].astype(np.float64)
    signal, lens = np.zeros((size, size)), np.zeros((size, size))
    mask = np.zeros((size, size), dtype=np.uint8)
    texture = gaussian_filter(rng.normal(size=(size, size)), 1.5)
    texture /= texture.std()
    for cell in cells:
        reach = int(cell.radius * 1.8) + 3
        r0, r1 = max(0, int(cell.row) - reach), min(size, int(cell.row) + reach + 1)
        c0, c1 = max(0, int(cell.col) - reach), min(size, int(cell.col) + reach + 1)
        box = (slice(r0, r1), slice(c0, c1))
        sr, sc = rr[box], cc[box]
        rho, _ = _polar(cell, sr, sc)
        inside = np.clip((1 - rho) * cell.radius + 0.5, 0, 1)
        rim = np.exp(-(((rho - 1) * cell.radius / 1.4) ** 2))
        tex = texture[box]
        if cell.kind == NORMAL:
            nucleus = np.clip((0.45 - rho) * cell.radius + 0.5, 0, 1)
            nucleoli = _granules(rng, cell, sr, sc, rng.integers(1, 4), 0.9) * nucleus
            if modality == "brightfield":
                part = 0.10 * inside * (1 + 0.4 * tex) + 0.06 * nucleus + 0.15 * nucleoli
                part += 0.22 * rim
            else:
                part = 0.35 * inside * (1 + 0.2 * tex) + 0.4 * nucleus + 0.3 * nucleoli
        else:
            dome = np.sqrt(np.clip(1 - rho**2, 0, 1))
            if cell.kind == MITOTIC:  # condensed chromatin absorbs / retards more
                inner, strength = _chromatin(rng, cell, sr, sc), 0.7
            else:
                inner, strength = _granules(rng, cell, sr, sc, rng.integers(3, 7), 1.0), 0.45
            if modality == "brightfield":
                part = 0.05 * inside * (1 + 0.3 * tex) + 0.35 * rim + strength * inner * inside
                lens[box] += 0.45 * np.exp(-((rho / 0.6) ** 2)) * inside
            else:
                part = 1.3 * dome * (1 + 0.1 * tex) + 1.4 * strength * inner * inside
            if cell.kind == MITOTIC:
                mask[box] |= (rho < 1).astype(np.uint8)
        signal[box] += part
    return signal, lens, mask


def _illumination(rng, size: int, strength: float) -> np.ndarray:
    """A smooth gain across the field: a tilt plus a broad bump."""
    rr, cc = np.mgrid[0:size, 0:size] / size - 0.5
    tilt = rng.normal(0, 1, 2) @ np.stack([rr.ravel(), cc.ravel()])
    y, x = rng.uniform(-0.5, 0.5, 2)
    bump = np.exp(-((rr - y) ** 2 + (cc - x) ** 2) / 0.15).ravel()
    gain = 1 + strength * (0.6 * tilt + bump - bump.mean())
    return gain.reshape(size, size)


def _camera(rng, intensity: np.ndarray, photons: float, read_noise: float) -> np.ndarray:
    """Photon (Poisson) noise at ``photons`` per unit intensity, then Gaussian read noise."""
    counts = rng.poisson(np.clip(intensity, 0, None) * photons) / photons
    return counts + rng.normal(0, read_noise, intensity.shape)


def _centroids(cells: list[_Cell]) -> np.ndarray:
    points = [(c.row, c.col) for c in cells if c.kind == MITOTIC]
    return np.array(points, dtype=float).reshape(-1, 2)


def _brightfield(rng, size):
    cells = _place_cells(rng, size, density=0.75)
    absorbance, lens, mask = _render_cells(rng, cells, size, "brightfield")
    transmitted = np.exp(-absorbance) * (1 + lens)
    defocused = gaussian_filter(transmitted, rng.uniform(0.7, 1.1))
    image = _camera(rng, defocused * _illumination(rng, size, 0.35), 250, 0.02)
    return image, mask, _centroids(cells)


def _phase_contrast(rng, size):
    cells = _place_cells(rng, size, density=0.75, lookalikes=0.10)
    phase, _, mask = _render_cells(rng, cells, size, "phase_contrast")
    halo_sigma = rng.uniform(4, 6)
    image = 1 - 0.45 * (phase - gaussian_filter(phase, halo_sigma))
    image = gaussian_filter(image, 0.7) * _illumination(rng, size, 0.15)
    return _camera(rng, image, 150, 0.02), mask, _centroids(cells)


def _xenopus(rng, size, planes: int = 7, projected: int = 1):
    """Voronoi epithelium through ``planes`` z-planes; max projection of the central plane
    ± ``projected``."""
    spacing = rng.uniform(14, 16)  # a jittered hexagonal lattice: packed, irregular cells
    rows = np.arange(-spacing, size + spacing, spacing * np.sqrt(3) / 2)
    cols = np.arange(-spacing, size + spacing, spacing)
    lattice = [(r, c + (i % 2) * spacing / 2) for i, r in enumerate(rows) for c in cols]
    seeds_a = np.array(lattice) + rng.normal(0, spacing * 0.18, (len(lattice), 2))
    n = len(seeds_a)
    inside = np.all((seeds_a > 10) & (seeds_a < size - 10), axis=1)
    share = rng.uniform(0.05, 0.10)
    kind = np.where(rng.random(n) < share, MITOTIC, NORMAL)
    kind[~inside] = NORMAL
    kind[(kind == NORMAL) & (rng.random(n) < 0.08)] = LOOKALIKE  # brightly labelled nuclei
    drift = rng.normal(0, 0.5, (n, 2))
    rr, cc = np.mgrid[0:size, 0:size]
    grid = np.stack([rr.ravel(), cc.ravel()], 1).astype(float)
    centre = planes // 2
    stack = np.zeros((planes, size, size))
    mask = np.zeros((size, size), dtype=np.uint8)
    nuclei_angle = rng.uniform(0, np.pi, n)
    for z in range(planes):
        moved = seeds_a + (z - centre) * drift
        dist, labels = cKDTree(moved).query(grid)
        labels, dist = labels.reshape(size, size), dist.reshape(size, size)
        membrane = find_boundaries(labels, mode="inner").astype(float)
        membrane *= 0.7 + 0.3 * gaussian_filter(rng.random((size, size)), 2) / 0.5
        signal = membrane.copy()
        for i in np.flatnonzero(kind != NORMAL):
            cy, cx = moved[i]
            box = (
                slice(max(0, int(cy) - 14), min(size, int(cy) + 15)),
                slice(max(0, int(cx) - 14), min(size, int(cx) + 15)),
            )
            br, bc, own = rr[box], cc[box], labels[box] == i
            rho = np.hypot(br - cy, bc - cx)
            if kind[i] == MITOTIC:
                radius = 0.8 * min(dist[box][own].max() if own.any() else 6, 8.0)
                circle = np.exp(-(((rho - radius) / 0.9) ** 2))
                signal[box] = np.where(own, 0.2 + 1.1 * circle, signal[box])
                fake = _Cell(cy, cx, radius, 1, 0, MITOTIC, np.zeros((0, 3)))
                signal[box] += 0.9 * _chromatin(np.random.default_rng(i), fake, br, bc) * own
                if z == centre:
                    mask[box] |= (rho < radius).astype(np.uint8)
            else:
                a = nuclei_angle[i]
                u = (bc - cx) * np.cos(a) + (br - cy) * np.sin(a)
                v = -(bc - cx) * np.sin(a) + (br - cy) * np.cos(a)
                signal[box] += 0.9 * np.exp(-((u / 3.5) ** 2) - (v / 2.2) ** 2) * own
        focus = 0.7 + 0.6 * abs(z - centre)
        stack[z] = gaussian_filter(signal, focus)
    projection = stack[centre - projected : centre + projected + 1].max(axis=0)
    image = _camera(rng, 0.1 + projection * _illumination(rng, size, 0.2), 80, 0.02)
    mitotic = np.flatnonzero(kind == MITOTIC)
    centroids = seeds_a[mitotic] if len(mitotic) else np.zeros((0, 2))
    return image, mask, centroids.reshape(-1, 2)


_SIMULATORS = {"brightfield": _brightfield, "phase_contrast": _phase_contrast, "xenopus": _xenopus}


def simulate_frames(
    modality: str, n_frames: int, size: int = 160, seed: int = 0, **options: int
) -> MicroscopyFrames:
    """``n_frames`` independent frames of ``size × size`` pixels; the same seed gives the same
    frames, frame ``i`` depending only on ``(seed, i)``.

    ``options`` go to the modality's model; ``"xenopus"`` takes ``planes`` (z-planes in the
    stack, default 7) and ``projected`` (planes projected on each side of the central one,
    default 1).
    """
    if modality not in _SIMULATORS:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    if n_frames < 1 or size < 48:
        raise ValueError(f"need n_frames >= 1 and size >= 48, got {n_frames=} and {size=}")
    images, masks, centroids = [], [], []
    for i in range(n_frames):
        rng = np.random.default_rng([seed, i, MODALITIES.index(modality)])
        image, mask, points = _SIMULATORS[modality](rng, size, **options)
        images.append(image.astype(np.float32))
        masks.append(mask)
        centroids.append(points)
    return MicroscopyFrames(
        torch.from_numpy(np.stack(images)[:, None]),
        torch.from_numpy(np.stack(masks)[:, None]),
        centroids,
        modality,
    )
