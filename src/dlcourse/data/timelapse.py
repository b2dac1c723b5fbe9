"""Simulated time-lapse microscopy movies in which mitosis is an event in time.

Cells are agents. Each has a shape, a thickness and a refractive index at every frame; the
movie's images are formed from them by the physics of :mod:`dlcourse.data.optics`
(``"brightfield"``, ``"phase_contrast"``) or by a fluorescence model of a packed epithelium
(``"xenopus"``). One frame every :data:`FRAME_INTERVAL_MIN` minutes.

HeLa-like cells (``"brightfield"``, ``"phase_contrast"``), sizes in µm:

- **Interphase**: spread and flat: an outline of radius 10-16 µm (20-32 µm across, elongated
  up to 1.6:1, wobbly), a lamella 1-1.8 µm thick and a nucleus (radius 4.5-6.5 µm) rising to
  3-5 µm, with 1-3 nucleoli; they crawl by a persistent random walk of about 1.5 µm per frame
  (0.3 µm/min) and their outlines change slowly.
- **Division** (the event), frames at 5 min: *rounding* (2 frames: the cell pulls in and
  thickens into a sphere, the nucleus dissolves), *metaphase* (4-7 frames, 20-35 min: a sphere
  15-19 µm across with a plate of condensed chromatin), *anaphase* (1 frame: the cell elongates
  and the two chromatid sets move apart), *telophase* (2 frames: two round daughters, each with
  half the volume, move apart) and *spreading* (4 frames: the daughters flatten into
  interphase cells). Rounding to anaphase onset takes 30-45 min, of the order of the time
  from nuclear-envelope breakdown to anaphase measured in HeLa cells (Meraldi, Draviam &
  Sorger 2004, *Dev. Cell* 7, 45-60); the 15-19 µm sphere is our assumption, in line with the
  rounded mitotic HeLa cells of Stewart et al. 2011 (*Nature* 469, 226-230).
- **Look-alikes that do not divide**: *apoptosis* (Kerr, Wyllie & Currie 1972, *Br. J.
  Cancer* 26, 239-257: the cell rounds, shrinks to 55-75 % of a mitotic cell's radius,
  becomes denser, blebs, and its chromatin condenses into a few dense fragments; it stays
  single to the end), *detachment* (the cell rounds up as smoothly as a mitotic cell, with its
  nucleus intact, jiggles for 4-10 frames and leaves the focal plane: it vanishes) and
  *debris* (small, dense, irregular particles drifting by Brownian motion).

Refractive-index excess over the medium: 0.025 for cells (Curl et al. 2005: cells 1.36-1.39,
medium 1.335), +0.015 for nucleoli and +0.02 for condensed chromatin, up to 0.04 for
shrunken apoptotic cells and 0.04-0.08 for debris (assumptions). Absorption: 0.2 % per µm of
cell, 1 % per µm of condensed chromatin, 2 % per µm of debris (assumptions: unstained cells
barely absorb). Divisions, apoptoses and detachments start at constant rates per cell and
frame (defaults enriched over a ~22 h HeLa cycle, so that a movie holds enough events to learn
from); every event lies at least ``border_margin_um`` inside the frame, and its distance to the
border is recorded.

The optics: a 10×/0.25 objective, green light (λ 0.55 µm), camera pixels of 1.3 µm in the
specimen (a 6.5 µm sCMOS pixel at 10× with 2×2 binning), the optics computed on a grid twice
as fine and then binned. Brightfield: the condenser at NA 0.1, the focus 3-6 µm off the cells,
as one sets it to see unstained cells. Phase contrast: a Ph1-like annulus and ring
(:func:`dlcourse.data.optics.phase_contrast`), in focus. Both: the focus wanders by about
±0.5 µm from frame to frame (as under autofocus), uneven illumination (±15 %) and a camera with
shot noise and read noise.

Xenopus (``"xenopus"``): a packed epithelium, a jittered hexagonal lattice of cells 14-16 px
apart whose outlines are the Voronoi tessellation of their centres, marked by a fluorescent
membrane marker; a chromatin marker shows condensed chromatin only (plates, the daughters' and
dying cells' compact nuclei, the look-alikes' bright nuclei), not interphase nuclei. Through a
stack of z-planes the centres shift a little (tilted cells), and planes away from focus are
blurrier (a Gaussian point-spread function widening with defocus, an assumption); the frame is
the maximum projection of the central plane ± ``projected`` planes. In a division the cell
rounds (its outline becomes a circle inscribed in its polygon), shows a bright metaphase plate,
elongates with two chromatid sets at anaphase, and the two daughters' centres replace the
mother's, so that a new membrane (the furrow) appears between them. Look-alikes: cells with a
brightly labelled elliptical nucleus (no plate, no rounding, all movie long), and extruding
apoptotic cells, whose outline shrinks to a small bright circle around a compact bright nucleus
before the cell leaves the sheet.

The truth, per frame: a mask of the mitotic cells (metaphase and anaphase, one object per
division, centred on the division), a map of every pixel's category (:data:`CATEGORIES`), the
objects with their ids, and the list of events.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree
from skimage.segmentation import find_boundaries

from dlcourse.data import optics

MODALITIES = ("brightfield", "phase_contrast", "xenopus")
CATEGORIES = (
    "background",
    "interphase",
    "rounding",
    "mitotic",
    "daughters",
    "apoptotic",
    "detaching",
    "debris",
    "bright_nucleus",
)
(BACKGROUND, INTERPHASE, ROUNDING, MITOTIC, DAUGHTERS, APOPTOTIC, DETACHING, DEBRIS, BRIGHT) = (
    range(len(CATEGORIES))
)
FRAME_INTERVAL_MIN = 5.0
PIXEL_UM = 1.3  # camera pixel in the specimen: 6.5 µm sCMOS pixel, 10× objective, 2×2 binning
OVERSAMPLE = 2  # the optics are computed on a grid this much finer, then binned
# Division phases, in frames of FRAME_INTERVAL_MIN (metaphase is drawn per division).
ROUNDING_FRAMES, METAPHASE_FRAMES, ANAPHASE_FRAMES = 2, (4, 7), 1
TELOPHASE_FRAMES, SPREADING_FRAMES = 2, 4
DELTA_N_CELL, DELTA_N_NUCLEOLUS, DELTA_N_CHROMATIN = 0.025, 0.015, 0.02
ABSORB_CELL, ABSORB_CHROMATIN, ABSORB_DEBRIS = 0.002, 0.01, 0.02  # optical density per µm
# Photoelectrons per pixel of background (assumptions): transmitted light is plentiful (an
# sCMOS pixel holds about 30 000 e⁻), a fluorescent membrane marker in a live embryo is dim.
PHOTONS = {"brightfield": 5000.0, "phase_contrast": 2000.0, "xenopus": 80.0}


@dataclass(frozen=True)
class Event:
    """A division or a look-alike. Frames are movie indices; ``metaphase`` (first frame with
    the plate) and ``anaphase`` (first anaphase frame) are set for divisions only, as are the
    daughters' ids. ``row, col`` (pixels) is where it happens: the division's centre, or the
    look-alike's centre once rounded (debris: at its first frame; Xenopus: at ``start``, after
    which the cell drifts with the sheet, a few pixels at most during the event).
    ``border_px`` is that point's distance to the nearest frame border."""

    kind: str  # "division", "apoptosis", "detachment", "debris", "bright_nucleus"
    cell_id: int
    start: int
    row: float
    col: float
    border_px: float
    metaphase: int | None = None
    anaphase: int | None = None
    daughters: tuple[int, int] | None = None


@dataclass(frozen=True)
class ObjectState:
    """One cell (or particle) in one frame: its id, category and centre (pixels)."""

    cell_id: int
    category: int
    row: float
    col: float


@dataclass(repr=False)
class MicroscopyMovie:
    """A movie: images float32 [T, 1, H, W]; masks uint8 [T, 1, H, W] (1 = mitotic cell,
    metaphase or anaphase); categories uint8 [T, 1, H, W] (indices into
    :data:`CATEGORIES`); per frame the mitotic cells' centres [K, 2] (row, col, in pixels,
    pixel i centred at i, as ``skimage`` centroids) and every object; the events; the camera
    pixel in µm (NaN for ``"xenopus"``, whose model has no physical scale)."""

    images: torch.Tensor
    masks: torch.Tensor
    categories: torch.Tensor
    centroids: list[np.ndarray]
    objects: list[list[ObjectState]]
    events: list[Event]
    modality: str
    pixel_um: float
    frame_interval_min: float = FRAME_INTERVAL_MIN

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.images.shape)
        kinds = sorted({e.kind for e in self.events})
        counts = ", ".join(f"{sum(e.kind == k for e in self.events)} {k}" for k in kinds)
        return f"MicroscopyMovie({self.modality}: images {shape}; events: {counts})"


# What a simulator returns: frames, masks, category maps, mitotic centroids, objects per
# frame, events, and the pixel size in µm (None where not modelled).
_Simulated = tuple[
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[list[ObjectState]],
    list[Event],
    "float | None",
]


@dataclass
class _Body:
    """A dome of thickness ``height · (1 - ρ²)^power`` over a wobbly ellipse (ρ = 1 on the
    outline), in µm."""

    row: float
    col: float
    radius: float
    height: float
    power: float = 0.5
    elongation: float = 1.0
    angle: float = 0.0
    harmonics: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    delta_n: float = DELTA_N_CELL
    absorb: float = ABSORB_CELL


def _rho(body: _Body, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Distance from the body's centre relative to its outline (1 on the outline)."""
    dy, dx = rr - body.row, cc - body.col
    cos, sin = np.cos(body.angle), np.sin(body.angle)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    theta = np.arctan2(v, u)
    e = np.sqrt(body.elongation)
    ellipse = body.radius / np.sqrt((np.cos(theta) / e) ** 2 + (np.sin(theta) * e) ** 2)
    wobble = 1 + sum(a * np.cos(k * theta + p) for k, a, p in body.harmonics)
    return np.hypot(u, v) / (ellipse * wobble)


def _box(body: _Body, step: float, n: int) -> tuple[slice, slice] | None:
    """The pixels (of ``step`` µm, centres at (i + 0.5) step) that the body may cover."""
    wobble = 1 + float(np.abs(body.harmonics[:, 1]).sum()) if len(body.harmonics) else 1.0
    reach = body.radius * np.sqrt(body.elongation) * wobble / step + 2
    r, c = body.row / step - 0.5, body.col / step - 0.5
    r0, r1 = max(0, int(r - reach)), min(n, int(r + reach) + 2)
    c0, c1 = max(0, int(c - reach)), min(n, int(c + reach) + 2)
    return (slice(r0, r1), slice(c0, c1)) if r0 < r1 and c0 < c1 else None


def _grid(box: tuple[slice, slice], step: float) -> tuple[np.ndarray, np.ndarray]:
    rows = (np.arange(box[0].start, box[0].stop) + 0.5) * step
    cols = (np.arange(box[1].start, box[1].stop) + 0.5) * step
    return np.meshgrid(rows, cols, indexing="ij")


@dataclass
class _Look:
    """What one cell looks like in one frame: its body, the inclusions whose optical path adds
    to it (nucleus, nucleoli, chromatin), a category and whether it is in the mitotic mask."""

    cell_id: int
    category: int
    row: float
    col: float
    bodies: list[_Body]
    inclusions: list[_Body] = field(default_factory=list)
    mitotic: bool = False


def _render_optics(looks: list[_Look], n: int, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Optical path excess (µm, Δn·t summed) and optical density maps [n, n]. Overlapping
    cells do not stack: a pixel takes the thickest cell body's path (cells crawl over each
    other's edges, not through them); inclusions add to it."""
    path, density = np.zeros((n, n)), np.zeros((n, n))
    for look in looks:
        for kind, parts in (("body", look.bodies), ("inclusion", look.inclusions)):
            for body in parts:
                box = _box(body, step, n)
                if box is None:
                    continue
                rho = _rho(body, *_grid(box, step))
                t = body.height * np.clip(1 - rho**2, 0, None) ** body.power
                if kind == "body":
                    path[box] = np.maximum(path[box], body.delta_n * t)
                else:
                    path[box] += body.delta_n * t
                density[box] += body.absorb * t
    return path, density


def _render_truth(looks: list[_Look], n: int, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Category map and mitotic mask [n, n] on the camera grid; mitotic cells are drawn last,
    so nothing hides them."""
    category = np.zeros((n, n), dtype=np.uint8)
    mask = np.zeros((n, n), dtype=np.uint8)
    for look in sorted(looks, key=lambda lk: lk.mitotic):
        for body in look.bodies:
            box = _box(body, step, n)
            if box is None:
                continue
            inside = _rho(body, *_grid(box, step)) < 1
            category[box][inside] = look.category
            if look.mitotic:
                mask[box] |= inside.astype(np.uint8)
    return category, mask


def _lerp(a: float, b: float, s: float) -> float:
    return a + (b - a) * s


@dataclass
class _Cell:
    """A HeLa-like cell: interphase shape, trajectory (µm per frame), and its fate."""

    cell_id: int
    radius: float
    elongation: float
    angle: float
    harmonics: np.ndarray
    lamella: float
    nucleus_radius: float
    nucleus_height: float
    nucleoli: np.ndarray  # [k, 2] offsets in units of the nucleus radius
    mitotic_radius: float
    track: dict[int, np.ndarray]  # frame -> (row, col) in µm
    fate: str = "interphase"
    start: int = 0
    durations: tuple[int, ...] = ()
    axis: float = 0.0
    born: int | None = None  # daughters: first frame (telophase)
    final_radius: float = 0.0  # apoptosis: the shrunken radius


@dataclass
class _Particle:
    """A piece of debris: its shape and its track (µm per frame)."""

    cell_id: int
    body: _Body
    track: np.ndarray


def _new_cell(rng: np.random.Generator, cell_id: int, radius: float | None = None) -> _Cell:
    radius = rng.uniform(10, 16) if radius is None else radius
    orders = np.arange(2, 5)
    harmonics = np.stack([orders, rng.uniform(0, 0.08, 3), rng.uniform(0, 2 * np.pi, 3)], 1).astype(
        float
    )
    n_nucleoli = int(rng.integers(1, 4))
    return _Cell(
        cell_id=cell_id,
        radius=radius,
        elongation=rng.uniform(1.0, 1.6),
        angle=rng.uniform(0, np.pi),
        harmonics=harmonics,
        lamella=rng.uniform(1.0, 1.8),
        nucleus_radius=rng.uniform(4.5, 6.5),
        nucleus_height=rng.uniform(2.0, 3.2),
        nucleoli=rng.uniform(-0.45, 0.45, (n_nucleoli, 2)),
        mitotic_radius=rng.uniform(7.5, 9.5),
        track={},
    )


def _interphase_look(cell: _Cell, t: int, pos: np.ndarray, s: float = 0.0) -> _Look:
    """The cell flattened (s = 0) or rounded into a sphere (s = 1) at centre ``pos``; the
    nucleus shrinks into the sphere as it rounds. Outline wobble drifts with time."""
    harm = cell.harmonics.copy()
    harm[:, 1] *= 1 - s
    harm[:, 2] += 0.05 * t * np.arange(1, len(harm) + 1)
    radius = _lerp(cell.radius, cell.mitotic_radius, s)
    body = _Body(
        pos[0],
        pos[1],
        radius,
        height=_lerp(cell.lamella, 2 * cell.mitotic_radius, s),
        power=_lerp(0.2, 0.5, s),
        elongation=_lerp(cell.elongation, 1.0, s),
        angle=cell.angle + 0.01 * t,
        harmonics=harm,
    )
    inclusions = []
    nucleus_height = cell.nucleus_height * (1 - s)
    if nucleus_height > 0:
        nr = cell.nucleus_radius * (1 - 0.4 * s)
        inclusions.append(_Body(pos[0], pos[1], nr, nucleus_height, elongation=1.15))
        for dy, dx in cell.nucleoli:
            inclusions.append(
                _Body(pos[0] + dy * nr, pos[1] + dx * nr, 1.1, 1.5, delta_n=DELTA_N_NUCLEOLUS)
            )
    return _Look(cell.cell_id, INTERPHASE, pos[0], pos[1], [body], inclusions)


def _plate(pos: np.ndarray, axis: float, offset: float, length: float) -> _Body:
    """A bar of condensed chromatin, perpendicular to the spindle ``axis``, ``offset`` µm
    from the centre along it."""
    row = pos[0] + offset * np.sin(axis)
    col = pos[1] + offset * np.cos(axis)
    half = length / 2
    return _Body(
        row,
        col,
        radius=np.sqrt(half * 1.2),
        height=3.0,
        elongation=half / 1.2,
        angle=axis + np.pi / 2,
        delta_n=DELTA_N_CHROMATIN,
        absorb=ABSORB_CHROMATIN,
    )


def _division_look(cell: _Cell, t: int) -> _Look | None:
    """The mother from rounding to the end of anaphase (None after: the daughters take over)."""
    rounding, metaphase, anaphase = cell.durations[:3]
    pos = cell.track[cell.start]
    k = t - cell.start
    R = cell.mitotic_radius
    if k < rounding:
        look = _interphase_look(cell, t, pos, (k + 1) / (rounding + 1))
        look.category = ROUNDING
        return look
    if k < rounding + metaphase:
        sphere = _Body(pos[0], pos[1], R, 2 * R)
        plate = _plate(pos, cell.axis, 0.0, 1.2 * R)
        return _Look(cell.cell_id, MITOTIC, pos[0], pos[1], [sphere], [plate], mitotic=True)
    if k < rounding + metaphase + anaphase:
        s = (k - rounding - metaphase + 1) / (anaphase + 1)
        r = R * 0.9
        d = _lerp(0.15, 0.35, s) * R
        bodies, inclusions = [], []
        for sign in (-1, 1):
            centre = pos + sign * d * np.array([np.sin(cell.axis), np.cos(cell.axis)])
            bodies.append(_Body(centre[0], centre[1], r, 2 * r))
            inclusions.append(_plate(pos, cell.axis, sign * _lerp(1.5, 4.0, s), 1.1 * R))
        return _Look(cell.cell_id, MITOTIC, pos[0], pos[1], bodies, inclusions, mitotic=True)
    return None


def _daughter_look(cell: _Cell, t: int) -> _Look:
    """A daughter from telophase (round, moving away from its sister) through spreading."""
    k = t - cell.born
    pos = cell.track[t]
    if k < TELOPHASE_FRAMES + SPREADING_FRAMES:
        s = 1 - max(0, k - TELOPHASE_FRAMES + 1) / (SPREADING_FRAMES + 1)
        look = _interphase_look(cell, t, pos, s)
        if k < TELOPHASE_FRAMES:  # a compact chromatin mass: the nucleus re-forming
            look.inclusions.append(
                _Body(pos[0], pos[1], 3.0, 3.0, delta_n=0.012, absorb=ABSORB_CHROMATIN)
            )
        look.category = DAUGHTERS
        return look
    return _interphase_look(cell, t, pos)


def _apoptosis_look(rng_seed: int, cell: _Cell, t: int) -> _Look:
    """Rounding, shrinking, denser, blebbing (outline harmonics 5-9 that change each frame),
    chromatin in a few dense fragments."""
    k = t - cell.start
    pos = cell.track[t]
    shrink = cell.durations[0]
    s = min(1.0, (k + 1) / (shrink + 1))
    rng = np.random.default_rng([rng_seed, cell.cell_id, t])
    final = cell.final_radius
    look = _interphase_look(cell, t, pos, s)
    body = look.bodies[0]
    body.radius = _lerp(cell.radius, final, s)
    body.height = _lerp(cell.lamella, 1.6 * final, s)
    body.delta_n = _lerp(DELTA_N_CELL, 0.04, s)
    body.absorb = _lerp(ABSORB_CELL, 0.006, s)
    orders = np.arange(5, 10)
    blebs = np.stack([orders, s * rng.uniform(0, 0.06, 5), rng.uniform(0, 2 * np.pi, 5)], 1)
    body.harmonics = np.concatenate([body.harmonics, blebs])
    if s >= 1:
        look.inclusions = []
        for _ in range(int(rng.integers(3, 6))):
            r, a = 0.5 * final * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
            look.inclusions.append(
                _Body(
                    pos[0] + r * np.sin(a),
                    pos[1] + r * np.cos(a),
                    rng.uniform(0.8, 1.5),
                    2.0,
                    delta_n=DELTA_N_CHROMATIN,
                    absorb=ABSORB_CHROMATIN,
                )
            )
    look.category = APOPTOTIC
    return look


def _detachment_look(cell: _Cell, t: int) -> _Look:
    """Rounding as smoothly as a mitotic cell, nucleus intact, until it leaves."""
    k = t - cell.start
    s = min(1.0, (k + 1) / (cell.durations[0] + 1))
    look = _interphase_look(cell, t, cell.track[t], s)
    if s >= 1:  # the nucleus stays whole (no plate) inside the sphere
        pos = cell.track[t]
        look.inclusions = [_Body(pos[0], pos[1], 0.6 * cell.mitotic_radius, 6.0, delta_n=0.006)]
    look.category = DETACHING
    return look


def _walk(
    rng: np.random.Generator, start: np.ndarray, frames: int, speed: float, keep: float
) -> np.ndarray:
    """A persistent random walk: ``frames`` positions [frames, 2] in µm, steps of about
    ``speed`` µm, the velocity keeping a share ``keep`` of itself each frame."""
    pos, v = [np.asarray(start, float)], rng.normal(0, speed / np.sqrt(2), 2)
    for _ in range(frames - 1):
        v = keep * v + np.sqrt(1 - keep**2) * rng.normal(0, speed / np.sqrt(2), 2)
        pos.append(pos[-1] + v)
    return np.array(pos)


def _pixels(row_um: float, col_um: float) -> tuple[float, float]:
    """Camera-pixel coordinates of a point in µm (pixel i's centre lies at (i + 0.5)·PIXEL_UM)."""
    return float(row_um) / PIXEL_UM - 0.5, float(col_um) / PIXEL_UM - 0.5


def _crowded(
    pos: np.ndarray, first: int, last: int, mitoses: list[tuple[np.ndarray, int, int]], gap: float
) -> bool:
    """Whether a division at ``pos`` from ``first`` to ``last`` would come within ``gap`` of
    another one at the same time (their masks would touch)."""
    return any(np.hypot(*(pos - p)) < gap and first <= b and a <= last for p, a, b in mitoses)


def _border_um(pos: np.ndarray, extent: float) -> float:
    return float(min(pos[0], pos[1], extent - pos[0], extent - pos[1]))


def _hela_population(
    rng: np.random.Generator,
    n_frames: int,
    extent: float,
    coverage: float,
    rates: dict[str, float],
    n_debris: int,
    margin: float,
) -> tuple[dict[int, _Cell], list[_Particle], list[Event]]:
    """Cells with their tracks and fates, debris with theirs, and the events."""
    cells: dict[int, _Cell] = {}
    target = int(coverage * extent**2 / (np.pi * 13**2 * 1.3))
    placed: list[tuple[np.ndarray, float]] = []
    for _ in range(target * 30):
        if len(placed) >= target:
            break
        pos, radius = rng.uniform(-8, extent + 8, 2), rng.uniform(10, 16)
        if all(np.hypot(*(pos - p)) > 0.9 * (radius + r) for p, r in placed):
            placed.append((pos, radius))
    events: list[Event] = []
    mitoses: list[tuple[np.ndarray, int, int]] = []
    next_id = 0
    fates = ("division", "apoptosis", "detachment")
    for pos, radius in placed:
        cell = _new_cell(rng, next_id, radius)
        next_id += 1
        cells[cell.cell_id] = cell
        track = _walk(rng, pos, n_frames, 1.5, 0.8)
        cell.track = dict(enumerate(track))
        rate = sum(rates.values())
        if rng.random() >= 1 - np.exp(-rate * n_frames):
            continue
        fate = fates[rng.choice(3, p=[rates[f] / rate for f in fates])]
        start = int(rng.integers(-ROUNDING_FRAMES, n_frames - 1))
        held = track[max(start, 0)]
        if _border_um(held, extent) < margin:
            continue  # an event only where the whole rounded cell lies inside the frame
        meta = int(rng.integers(METAPHASE_FRAMES[0], METAPHASE_FRAMES[1] + 1))
        last = start + ROUNDING_FRAMES + meta
        if fate == "division" and _crowded(held, start, last, mitoses, 26.0):
            continue
        cell.fate, cell.start = fate, start
        for t in range(max(start, 0), n_frames):  # rounded cells stop crawling
            cell.track[t] = held
        cell.track[start] = held
        where = _pixels(*held)
        border = _border_um(held, extent) / PIXEL_UM
        if fate == "division":
            mitoses.append((held, start, last))
            cell.durations = (ROUNDING_FRAMES, meta, ANAPHASE_FRAMES)
            cell.axis = rng.uniform(0, np.pi)
            born = start + ROUNDING_FRAMES + meta + ANAPHASE_FRAMES
            ids = (next_id, next_id + 1)
            next_id += 2
            for sign, daughter_id in zip((-1.0, 1.0), ids, strict=True):
                daughter = _new_cell(rng, daughter_id, 0.85 * cell.radius)
                daughter.mitotic_radius = cell.mitotic_radius * 0.5 ** (1 / 3)
                daughter.born, daughter.fate = born, "daughter"
                unit = sign * np.array([np.sin(cell.axis), np.cos(cell.axis)])
                walk = _walk(rng, np.zeros(2), max(n_frames - born, 1), 1.5, 0.8)
                for k in range(max(0, -born), n_frames - born):
                    apart = min(0.8 + 0.2 * k, 1.2) * cell.mitotic_radius
                    drift = walk[k - TELOPHASE_FRAMES] if k >= TELOPHASE_FRAMES else 0
                    daughter.track[born + k] = held + unit * apart + drift
                cells[daughter_id] = daughter
            first = start + ROUNDING_FRAMES
            events.append(
                Event("division", cell.cell_id, start, *where, border, first, first + meta, ids)
            )
        elif fate == "apoptosis":
            cell.durations = (3,)
            cell.final_radius = cell.mitotic_radius * rng.uniform(0.55, 0.75)
            events.append(Event("apoptosis", cell.cell_id, start, *where, border))
        else:
            cell.durations = (ROUNDING_FRAMES, int(rng.integers(4, 11)))
            jiggle = _walk(rng, np.zeros(2), n_frames, 1.0, 0.0)
            for t in range(max(start, 0), n_frames):
                cell.track[t] = held + jiggle[t]
            events.append(Event("detachment", cell.cell_id, start, *where, border))
    debris = []
    for _ in range(n_debris):
        radius = rng.uniform(1.5, 4.0)
        body = _Body(
            0.0,
            0.0,
            radius,
            rng.uniform(1.5, 1.0 + radius),
            elongation=rng.uniform(1.0, 1.8),
            angle=rng.uniform(0, np.pi),
            harmonics=np.stack(
                [np.arange(3, 6), rng.uniform(0, 0.2, 3), rng.uniform(0, 2 * np.pi, 3)], 1
            ),
            delta_n=rng.uniform(0.04, 0.08),
            absorb=ABSORB_DEBRIS,
        )
        track = _walk(rng, rng.uniform(0, extent, 2), n_frames, 1.0, 0.0)
        debris.append(_Particle(next_id, body, track))
        border = _border_um(track[0], extent) / PIXEL_UM
        events.append(Event("debris", next_id, 0, *_pixels(*track[0]), border))
        next_id += 1
    return cells, debris, events


def _hela_looks(
    seed: int,
    cells: dict[int, _Cell],
    debris: list[_Particle],
    t: int,
) -> list[_Look]:
    """Every cell's and particle's look at frame ``t``."""
    looks = []
    for cell in cells.values():
        if t not in cell.track:
            continue
        if cell.fate == "daughter":
            if t >= cell.born:
                looks.append(_daughter_look(cell, t))
        elif cell.fate == "interphase" or t < cell.start:
            looks.append(_interphase_look(cell, t, cell.track[t]))
        elif cell.fate == "division":
            look = _division_look(cell, t)
            if look is not None:
                looks.append(look)
        elif cell.fate == "apoptosis":
            looks.append(_apoptosis_look(seed, cell, t))
        elif t - cell.start < sum(cell.durations):  # detachment, until it leaves
            looks.append(_detachment_look(cell, t))
    for particle in debris:
        row, col = particle.track[t]
        moved = replace(particle.body, row=row, col=col)
        looks.append(_Look(particle.cell_id, DEBRIS, row, col, [moved]))
    return looks


def _hela_movie(
    rng: np.random.Generator,
    seed: int,
    modality: str,
    n_frames: int,
    size: int,
    coverage: float,
    division_rate: float,
    apoptosis_rate: float,
    detachment_rate: float,
    n_debris: int,
    border_margin_um: float,
    photons: float,
    read_noise: float,
) -> _Simulated:
    extent = size * PIXEL_UM
    rates = {"division": division_rate, "apoptosis": apoptosis_rate}
    rates["detachment"] = detachment_rate
    cells, debris, events = _hela_population(
        rng, n_frames, extent, coverage, rates, n_debris, border_margin_um
    )
    step = PIXEL_UM / OVERSAMPLE
    n_fine = size * OVERSAMPLE
    gain = optics.uneven_illumination(rng, (size, size), 0.15)
    focus = rng.uniform(3.0, 6.0) if modality == "brightfield" else 0.0
    focus_drift = np.zeros(n_frames)  # mean-reverting, as under autofocus: std ≈ 0.5 µm
    for t in range(1, n_frames):
        focus_drift[t] = 0.9 * focus_drift[t - 1] + rng.normal(0, 0.2)
    frames, masks, categories, centroids, objects = [], [], [], [], []
    for t in range(n_frames):
        looks = _hela_looks(seed, cells, debris, t)
        path, density = _render_optics(looks, n_fine, step)
        phase = optics.phase_from_thickness(path, 1.0, optics.WAVELENGTH_UM)
        specimen = optics.specimen_field(phase, np.exp(-np.log(10) * density))
        if modality == "brightfield":
            fine = optics.brightfield(specimen, step, focus + focus_drift[t])
        else:
            fine = optics.phase_contrast(specimen, step, defocus_um=focus_drift[t])
            fine /= 0.3**2  # the background: the direct light through the ring
        intensity = optics.bin_pixels(fine, OVERSAMPLE) * gain
        frames.append(optics.camera(rng, intensity, photons, read_noise))
        category, mask = _render_truth(looks, size, PIXEL_UM)
        categories.append(category)
        masks.append(mask)
        mitotic = [lk for lk in looks if lk.mitotic]
        centroids.append(np.array([_pixels(lk.row, lk.col) for lk in mitotic]).reshape(-1, 2))
        objects.append(
            [
                ObjectState(
                    lk.cell_id, lk.category, lk.row / PIXEL_UM - 0.5, lk.col / PIXEL_UM - 0.5
                )
                for lk in looks
            ]
        )
    return frames, masks, categories, centroids, objects, events, PIXEL_UM


def _border_px(pos: np.ndarray, size: int) -> float:
    """Distance (pixels) from a point to the frame's edge; pixel i spans i ± 0.5."""
    return float(min(pos[0] + 0.5, pos[1] + 0.5, size - 0.5 - pos[0], size - 0.5 - pos[1]))


@dataclass
class _Seed:
    """A Xenopus epithelial cell: the track of its centre (pixels, pixel i centred at i), the
    tilt of its centre through the z-stack, and its fate."""

    cell_id: int
    track: dict[int, np.ndarray]
    tilt: np.ndarray
    fate: str = "interphase"
    start: int = 0
    metaphase: int = 0
    end: int | None = None  # first frame without this cell
    axis: float = 0.0
    born: int | None = None


def _xenopus_population(
    rng: np.random.Generator,
    n_frames: int,
    size: int,
    spacing: float,
    division_rate: float,
    extrusion_rate: float,
    bright_share: float,
    margin: float,
) -> tuple[list[_Seed], list[Event]]:
    rows = np.arange(-spacing, size + spacing, spacing * np.sqrt(3) / 2)
    cols = np.arange(-spacing, size + spacing, spacing)
    lattice = [(r, c + (i % 2) * spacing / 2) for i, r in enumerate(rows) for c in cols]
    starts = np.array(lattice) + rng.normal(0, spacing * 0.18, (len(lattice), 2))
    flow = _walk(rng, np.zeros(2), n_frames, 0.3, 0.9)  # the sheet drifts as a whole
    seeds, events = [], []
    mitoses: list[tuple[np.ndarray, int, int]] = []
    next_id = len(starts)
    rate = division_rate + extrusion_rate
    for i, p in enumerate(starts):
        jitter = _walk(rng, np.zeros(2), n_frames, 0.15, 0.5)
        track = p + flow + jitter
        seed = _Seed(i, dict(enumerate(track)), rng.normal(0, 0.5, 2))
        seeds.append(seed)
        draw = rng.random()
        start = int(rng.integers(-ROUNDING_FRAMES, n_frames - 1))
        held = track[max(start, 0)]
        border = _border_px(held, size)
        if border < margin:
            continue
        where = (float(held[0]), float(held[1]))
        if draw < 1 - np.exp(-rate * n_frames):
            meta = int(rng.integers(METAPHASE_FRAMES[0], METAPHASE_FRAMES[1] + 1))
            last = start + ROUNDING_FRAMES + meta
            divides = rng.random() < division_rate / rate
            if divides and _crowded(held, start, last, mitoses, 19.0):
                continue
            # From its start the cell leaves its neighbours' jitter but drifts with the sheet.
            for t in range(max(start, 0), n_frames):
                seed.track[t] = held + flow[t] - flow[max(start, 0)]
            seed.track[start] = held
            seed.start = start
            if divides:
                mitoses.append((held, start, last))
                seed.fate, seed.axis = "division", rng.uniform(0, np.pi)
                seed.metaphase = start + ROUNDING_FRAMES
                seed.end = seed.metaphase + meta + ANAPHASE_FRAMES
                ids = (next_id, next_id + 1)
                next_id += 2
                unit = np.array([np.sin(seed.axis), np.cos(seed.axis)])
                for sign, daughter_id in zip((-1.0, 1.0), ids, strict=True):
                    daughter = _Seed(daughter_id, {}, seed.tilt, "daughter", born=seed.end)
                    for t in range(max(seed.end, 0), n_frames):
                        apart = spacing * min(0.25 + 0.1 * (t - seed.end), 0.45)
                        drift = flow[t] - flow[max(start, 0)]
                        daughter.track[t] = held + sign * apart * unit + drift
                    seeds.append(daughter)
                first = seed.metaphase
                events.append(Event("division", i, start, *where, border, first, first + meta, ids))
            else:
                seed.fate, seed.end = "apoptosis", start + int(rng.integers(4, 9))
                events.append(Event("apoptosis", i, start, *where, border))
        elif draw > 1 - bright_share:
            seed.fate, seed.axis = "bright_nucleus", rng.uniform(0, np.pi)
            row, col = (float(x) for x in track[0])
            events.append(Event("bright_nucleus", i, 0, row, col, _border_px(track[0], size)))
    return seeds, events


def _xenopus_kind(seed: _Seed, t: int) -> int:
    """The cell's category at frame ``t``."""
    if seed.fate == "bright_nucleus":
        return BRIGHT
    if seed.fate == "daughter":
        young = t - seed.born < TELOPHASE_FRAMES + SPREADING_FRAMES
        return DAUGHTERS if young else INTERPHASE
    if seed.fate == "interphase" or t < seed.start:
        return INTERPHASE
    if seed.fate == "apoptosis":
        return APOPTOTIC
    return ROUNDING if t < seed.metaphase else MITOTIC


def _xenopus_signal(
    seed: _Seed,
    t: int,
    centre: np.ndarray,
    own: np.ndarray,
    membrane: np.ndarray,
    rr: np.ndarray,
    cc: np.ndarray,
    spacing: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The membrane and chromatin signal inside one cell's box, and the mitotic mask there
    (None for cells not in metaphase or anaphase)."""
    dy, dx = rr - centre[0], cc - centre[1]
    rho = np.hypot(dy, dx)
    cos, sin = np.cos(seed.axis), np.sin(seed.axis)
    along, across = dx * cos + dy * sin, -dx * sin + dy * cos
    radius = 0.42 * spacing
    if seed.fate == "bright_nucleus":
        nucleus = np.exp(-((along / 3.5) ** 2) - (across / 2.2) ** 2)
        return membrane + 0.9 * nucleus * own, None
    if seed.fate == "daughter":
        nucleus = np.exp(-((rho / 2.5) ** 2)) if t - seed.born < TELOPHASE_FRAMES else 0
        return membrane + 0.6 * nucleus * own, None
    if seed.fate == "apoptosis":  # extrusion: a shrinking bright circle, a compact nucleus
        s = min(1.0, (t - seed.start + 1) / (seed.end - seed.start))
        r = radius * (1 - 0.6 * s)
        circle = np.exp(-(((rho - r) / 0.9) ** 2))
        inside = 0.3 * s + 1.1 * circle + 0.9 * s * np.exp(-((rho / 2.0) ** 2))
        return np.where(own, (1 - s) * membrane + s * inside, membrane), None
    k = t - seed.start  # division
    if k < ROUNDING_FRAMES:
        s = (k + 1) / (ROUNDING_FRAMES + 1)
        circle = np.exp(-(((rho - radius) / 0.9) ** 2))
        blend = (1 - s) * membrane + s * (0.2 + 1.1 * circle)
        return np.where(own, blend, membrane), None
    anaphase = t >= seed.end - ANAPHASE_FRAMES
    stretch = 1.25 if anaphase else 1.0
    ellipse = np.hypot(along / stretch, across * np.sqrt(stretch))
    circle = np.exp(-(((ellipse - radius) / 0.9) ** 2))
    offsets = (-0.3 * radius, 0.3 * radius) if anaphase else (0.0,)
    plate = sum(
        np.exp(-(((along - o) / 1.3) ** 2) - (across / (0.6 * radius)) ** 8) for o in offsets
    )
    signal = np.where(own, 0.2 + 1.1 * circle + 0.9 * np.minimum(plate, 1.0), membrane)
    return signal, (ellipse < radius).astype(np.uint8)


def _xenopus_movie(
    rng: np.random.Generator,
    n_frames: int,
    size: int,
    planes: int,
    projected: int,
    division_rate: float,
    extrusion_rate: float,
    bright_share: float,
    border_margin_px: float,
    photons: float,
    read_noise: float,
) -> _Simulated:
    spacing = rng.uniform(14, 16)
    seeds, events = _xenopus_population(
        rng,
        n_frames,
        size,
        spacing,
        division_rate,
        extrusion_rate,
        bright_share,
        border_margin_px,
    )
    rr, cc = np.mgrid[0:size, 0:size].astype(float)
    grid = np.stack([rr.ravel(), cc.ravel()], 1)
    mid = planes // 2
    texture = 0.7 + 0.3 * gaussian_filter(rng.random((size, size)), 2) / 0.5
    gain = optics.uneven_illumination(rng, (size, size), 0.2)
    frames, masks, categories, centroids, objects = [], [], [], [], []
    for t in range(n_frames):
        alive = [
            s
            for s in seeds
            if t in s.track and (s.end is None or t < s.end) and (s.born is None or t >= s.born)
        ]
        special = [j for j, s in enumerate(alive) if s.fate != "interphase"]
        shrink = np.zeros(len(alive))  # extruding cells give way to their neighbours
        for j in special:
            if alive[j].fate == "apoptosis" and t >= alive[j].start:
                s = (t - alive[j].start + 1) / (alive[j].end - alive[j].start)
                shrink[j] = 0.45 * spacing * min(s, 1.0)
        stack = np.zeros((planes, size, size))
        mask = np.zeros((size, size), dtype=np.uint8)
        category = np.full((size, size), INTERPHASE, dtype=np.uint8)
        frame_objects, points = [], []
        for z in range(planes):
            moved = np.array([s.track[t] + (z - mid) * s.tilt for s in alive])
            dist, near = cKDTree(moved).query(grid, k=min(6, len(alive)))
            score = dist + shrink[near]
            labels = near[np.arange(len(grid)), score.argmin(1)].reshape(size, size)
            membrane = find_boundaries(labels, mode="inner") * texture
            signal = membrane.copy()
            for j in special:
                seed = alive[j]
                if seed.fate != "bright_nucleus" and t < seed.start:
                    continue
                c = moved[j]
                box = (
                    slice(max(0, int(c[0]) - 14), min(size, int(c[0]) + 15)),
                    slice(max(0, int(c[1]) - 14), min(size, int(c[1]) + 15)),
                )
                own = labels[box] == j
                part, inside = _xenopus_signal(
                    seed, t, c, own, signal[box], rr[box], cc[box], spacing
                )
                signal[box] = part
                if z == mid:
                    category[box][own] = _xenopus_kind(seed, t)
                    if inside is not None:
                        mask[box] |= inside
            stack[z] = gaussian_filter(signal, 0.7 + 0.6 * abs(z - mid))
        for seed in alive:
            kind = _xenopus_kind(seed, t)
            row, col = (float(x) for x in seed.track[t])
            frame_objects.append(ObjectState(seed.cell_id, kind, row, col))
            if kind == MITOTIC:
                points.append((row, col))
        projection = stack[mid - projected : mid + projected + 1].max(axis=0)
        frames.append(optics.camera(rng, 0.1 + projection * gain, photons, read_noise))
        masks.append(mask)
        categories.append(category)
        centroids.append(np.array(points, dtype=float).reshape(-1, 2))
        objects.append(frame_objects)
    return frames, masks, categories, centroids, objects, events, None


def simulate_movie(
    modality: str,
    n_frames: int,
    size: int = 160,
    seed: int = 0,
    *,
    division_rate: float = 0.01,
    apoptosis_rate: float = 0.003,
    detachment_rate: float = 0.003,
    coverage: float = 0.5,
    n_debris: int = 4,
    border_margin_um: float = 12.0,
    photons: float | None = None,
    read_noise: float = 2.0,
    planes: int = 7,
    projected: int = 1,
    bright_share: float = 0.06,
) -> MicroscopyMovie:
    """A movie of ``n_frames`` frames, ``size × size`` camera pixels, one every
    :data:`FRAME_INTERVAL_MIN` minutes; the same seed gives the same movie.

    Rates are per cell and per frame: ``division_rate``, ``apoptosis_rate`` (for
    ``"xenopus"``: extrusion) and ``detachment_rate`` (HeLa-like only). ``coverage`` is the
    share of the field covered by cells (HeLa-like), ``n_debris`` the number of particles.
    Events lie at least ``border_margin_um`` (µm; for ``"xenopus"`` read as pixels) inside
    the frame. ``photons``: photoelectrons per pixel of background; ``read_noise``: electrons.
    ``"xenopus"`` also takes ``planes`` (the z-stack) and ``projected`` (planes projected on
    each side of the central one), and ``bright_share`` (cells with a bright nucleus).
    """
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    if n_frames < 1 or size < 48:
        raise ValueError(f"need n_frames >= 1 and size >= 48, got {n_frames=} and {size=}")
    rates = {"division_rate": division_rate, "apoptosis_rate": apoptosis_rate}
    rates["detachment_rate"] = detachment_rate
    for name, value in rates.items():
        if not 0 <= value <= 1:
            raise ValueError(f"{name} is a probability per cell and frame, got {value}")
    if not 0 < coverage <= 1 or n_debris < 0 or border_margin_um < 0:
        raise ValueError("need 0 < coverage <= 1, n_debris >= 0 and border_margin_um >= 0")
    if not 0 <= projected <= planes // 2:
        raise ValueError(f"need 0 <= projected <= planes // 2, got {projected=}, {planes=}")
    rng = np.random.default_rng([seed, MODALITIES.index(modality)])
    photons = PHOTONS[modality] if photons is None else photons
    if photons <= 0 or read_noise < 0:
        raise ValueError(f"need photons > 0 and read_noise >= 0, got {photons=}, {read_noise=}")
    if modality == "xenopus":
        out = _xenopus_movie(
            rng,
            n_frames,
            size,
            planes,
            projected,
            division_rate,
            apoptosis_rate,
            bright_share,
            border_margin_um,
            photons,
            read_noise,
        )
    else:
        out = _hela_movie(
            rng,
            seed,
            modality,
            n_frames,
            size,
            coverage,
            division_rate,
            apoptosis_rate,
            detachment_rate,
            n_debris,
            border_margin_um,
            photons,
            read_noise,
        )
    frames, masks, categories, centroids, objects, events, pixel_um = out
    return MicroscopyMovie(
        torch.from_numpy(np.stack(frames).astype(np.float32)[:, None]),
        torch.from_numpy(np.stack(masks)[:, None]),
        torch.from_numpy(np.stack(categories)[:, None]),
        centroids,
        objects,
        events,
        modality,
        pixel_um if pixel_um is not None else float("nan"),
    )
