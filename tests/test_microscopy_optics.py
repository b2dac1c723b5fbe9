"""Image formation from physics (optics) and the time-lapse simulators built on it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.data import optics
from dlcourse.data.timelapse import (
    ANAPHASE_FRAMES,
    BACKGROUND,
    MITOTIC,
    MODALITIES,
    PIXEL_UM,
    simulate_movie,
)
from dlcourse.segmentation.detection import centroids_from_mask, match_points

PIXEL = 0.65  # µm, the simulators' optics grid
N = 128


def _radius() -> np.ndarray:
    rr, cc = (np.mgrid[0:N, 0:N] - N / 2) * PIXEL
    return np.hypot(rr, cc)


def _disc_phase(phase: float, radius_um: float = 8.0) -> np.ndarray:
    """A weak phase disc with an edge about a micrometre wide."""
    return phase * np.clip(radius_um - _radius() + 0.5, 0, 1)


def _centre_contrast(image: np.ndarray) -> float:
    r = _radius()
    return float(image[r < 1.0].mean() - image[r > 30].mean())


def test_phase_from_thickness():
    # A rounded cell 15 µm tall, Δn 0.025, green light: about 4.3 rad.
    assert optics.phase_from_thickness(15.0, 0.025, 0.55) == pytest.approx(4.284, abs=1e-3)


@pytest.mark.parametrize("dz", [-8.0, 5.0, 30.0])
def test_free_propagation_conserves_energy_and_reverses(dz):
    rng = np.random.default_rng(0)
    field = optics.specimen_field(rng.uniform(0, 3, (64, 64)), rng.uniform(0.5, 1, (64, 64)))
    moved = optics.propagate(field, dz, PIXEL)
    assert np.sum(np.abs(moved) ** 2) == pytest.approx(np.sum(np.abs(field) ** 2), rel=1e-10)
    assert np.allclose(optics.propagate(moved, -dz, PIXEL), field)


def test_brightfield_phase_object_contrast_comes_from_defocus():
    """A weak Gaussian phase bump: no contrast in focus; out of focus, the transport of
    intensity's contrast -(λ dz / 2π n) ∇²φ, growing with |dz| and odd in dz."""
    phi0, sigma = 0.1, 3.0
    field = optics.specimen_field(phi0 * np.exp(-(_radius() ** 2) / (2 * sigma**2)))
    contrast = {
        dz: _centre_contrast(optics.brightfield(field, PIXEL, dz)) for dz in (-4, -2, 0, 2, 4)
    }
    laplacian_at_centre = -2 * phi0 / sigma**2
    tie = -optics.WAVELENGTH_UM * 2 / (2 * np.pi * optics.N_MEDIUM) * laplacian_at_centre
    assert contrast[2] == pytest.approx(tie, rel=0.3)
    assert abs(contrast[0]) < 0.02 * abs(contrast[2])
    assert abs(contrast[4]) > 1.5 * abs(contrast[2])
    assert np.sign(contrast[2]) == -np.sign(contrast[-2]) == np.sign(contrast[4]) != 0


def test_absorption_shows_in_focus():
    field = optics.specimen_field(0.0, np.where(_radius() < 8, 0.9, 1.0))
    assert _centre_contrast(optics.brightfield(field, PIXEL, 0.0)) == pytest.approx(-0.1, abs=0.01)


@pytest.mark.parametrize("ring_phase, sign", [(-np.pi / 2, -1), (np.pi / 2, 1)])
def test_phase_contrast_halo_sign_follows_the_ring(ring_phase, sign):
    image = optics.phase_contrast(
        optics.specimen_field(_disc_phase(0.1)), PIXEL, ring_phase=ring_phase
    )
    r = _radius()
    background = image[r > 30].mean()
    inside, halo = image[r < 6].mean() - background, image[(r > 9) & (r < 13)].mean() - background
    assert np.sign(inside) == sign and np.sign(halo) == -sign
    assert abs(inside) > 0.05 * background and abs(halo) > 0.02 * background


def test_phase_contrast_of_a_weak_phase_object_is_linear_in_phase():
    c1, c2 = (
        _centre_contrast(optics.phase_contrast(optics.specimen_field(_disc_phase(phi)), PIXEL))
        for phi in (0.02, 0.04)
    )
    assert c1 < 0 and c2 / c1 == pytest.approx(2.0, rel=0.05)


def test_rounded_cells_are_phase_bright_and_flat_cells_dark():
    """Positive phase contrast with realistic phases: a 16 µm sphere (φ ≈ 4.6 rad) comes out
    bright, a flat cell's nucleus (3.5 µm, φ ≈ 1 rad) dark; both have bright halos."""
    r = _radius()
    sphere = 2 * np.sqrt(np.clip(8.0**2 - r**2, 0, None))
    flat = 1.0 * np.clip(18 - r, 0, 1) + 2.5 * np.sqrt(np.clip(1 - (r / 7) ** 2, 0, None))
    for thickness, bright in ((sphere, True), (flat, False)):
        phase = optics.phase_from_thickness(thickness, 0.025, optics.WAVELENGTH_UM)
        image = optics.phase_contrast(optics.specimen_field(phase), PIXEL)
        background = image[r > 35].mean()
        inside = image[r < 6].mean() / background
        assert inside > 2 if bright else inside < 0.6
        edge = 8 if bright else 18
        assert image[(r > edge) & (r < edge + 4)].mean() > 1.05 * background


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda f: optics.brightfield(f, PIXEL, na_objective=0.0), "na_objective"),
        (lambda f: optics.brightfield(f, PIXEL, na_objective=1.5), "na_objective"),
        (lambda f: optics.brightfield(f, PIXEL, na_condenser=0.5), "na_condenser"),
        (lambda f: optics.brightfield(f, PIXEL, wavelength_um=0.0), "wavelength"),
        (lambda f: optics.propagate(f, 1.0, PIXEL, wavelength_um=-0.5), "wavelength"),
        (lambda f: optics.brightfield(f, 0.0), "pixel_um"),
        (lambda f: optics.phase_contrast(f, PIXEL, ring_na=0.24), "fit in the pupil"),
        (lambda f: optics.phase_contrast(f, PIXEL, ring_transmission=1.5), "ring_transmission"),
        (lambda f: optics.phase_from_thickness(1.0, 0.02, 0.0), "wavelength"),
        (lambda f: optics.specimen_field(0.0, 1.2), "transmission"),
    ],
)
def test_bad_parameters_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.ones((32, 32), complex))


def test_camera_noise_is_poisson_plus_read_noise():
    rng = np.random.default_rng(0)
    image = optics.camera(rng, np.full((200, 200), 1.0), photons=400, read_noise=3.0)
    assert image.mean() == pytest.approx(1.0, abs=0.01)
    assert image.var() * 400**2 == pytest.approx(400 + 9, rel=0.05)


@pytest.mark.parametrize("modality", MODALITIES)
def test_movies_are_deterministic_per_seed(modality):
    a = simulate_movie(modality, 4, size=64, seed=5)
    b = simulate_movie(modality, 4, size=64, seed=5)
    c = simulate_movie(modality, 4, size=64, seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert a.events == b.events and a.objects == b.objects
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (4, 1, 64, 64) and a.images.dtype == torch.float32
    assert a.masks.dtype == a.categories.dtype == torch.uint8


@pytest.fixture(scope="module", params=MODALITIES)
def movie(request):
    return simulate_movie(request.param, 16, size=96, seed=3, division_rate=0.03)


def test_masks_align_with_events_and_centroids(movie):
    divisions = [e for e in movie.events if e.kind == "division"]
    assert divisions
    for t in range(len(movie)):
        found = centroids_from_mask(movie.masks[t, 0].numpy())
        assert (
            match_points(found, movie.centroids[t], 0.5).tp == len(found) == len(movie.centroids[t])
        )
        expected = [(e.row, e.col) for e in divisions if e.metaphase <= t <= e.anaphase]
        # HeLa-like cells stay put while they divide; Xenopus cells drift with the sheet.
        tolerance = 6.0 if movie.modality == "xenopus" else 1e-6
        assert match_points(movie.centroids[t], expected, tolerance).tp == len(expected)
        assert len(expected) == len(found)
    margin = 12.0 / (PIXEL_UM if movie.modality != "xenopus" else 1.0)
    assert all(e.border_px >= margin for e in movie.events if e.kind != "debris")


def test_division_timing_and_lookalikes_never_divide(movie):
    ids_by_frame = [{o.cell_id: o for o in objects} for objects in movie.objects]
    first_ids = set(ids_by_frame[0])
    born = set().union(*ids_by_frame) - first_ids
    daughters = {d for e in movie.events if e.kind == "division" for d in e.daughters}
    assert born <= daughters, "only divisions make new cells"
    for e in movie.events:
        if e.kind != "division":
            assert e.daughters is None
            continue
        birth = e.anaphase + ANAPHASE_FRAMES
        for t, ids in enumerate(ids_by_frame):
            present = [d in ids for d in e.daughters]
            assert all(present) if t >= birth else not any(present)
            if e.metaphase <= t <= e.anaphase:
                assert ids[e.cell_id].category == MITOTIC
            if t >= birth:
                assert e.cell_id not in ids


def test_phase_contrast_movie_mitotic_cells_are_bright():
    movie = simulate_movie("phase_contrast", 10, size=80, seed=1, division_rate=0.05)
    images, masks = movie.images.numpy(), movie.masks.numpy().astype(bool)
    background = movie.categories.numpy() == BACKGROUND
    assert masks.any()
    assert images[masks].mean() > 2 * images[background].mean()


def test_unknown_modality_and_bad_rates_are_clear_errors():
    with pytest.raises(ValueError, match="brightfield"):
        simulate_movie("confocal", 1)
    with pytest.raises(ValueError, match="division_rate"):
        simulate_movie("brightfield", 2, division_rate=1.5)
