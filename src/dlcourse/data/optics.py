"""Image formation in the transmitted-light microscope, computed from the physics.

A cell is a thin specimen: it multiplies the illuminating wave by the complex transmission
``sqrt(T) exp(iφ)``, where ``φ = 2π Δn t / λ`` is the phase delay of a cell of thickness ``t``
and refractive-index excess ``Δn`` over the medium, and ``T`` its (small) absorption. The
microscope images that field through the objective's pupil; what differs between modalities
is the pupil and the illumination:

- **brightfield**: a clear pupil of radius ``NA_objective / λ`` and a condenser disc of radius
  ``NA_condenser / λ``; a pure phase object in focus is nearly invisible, and contrast comes
  from defocus (the field propagated by ``dz`` with the angular spectrum).
- **phase contrast** (Zernike 1942): an annular condenser, and a phase ring in the pupil, at
  the annulus's conjugate radius, that shifts the phase of what passes through it by
  ``ring_phase`` and attenuates its amplitude to ``ring_transmission``. The ring has a finite
  width, so the low spatial frequencies of the scattered light pass through it too: the halo
  and the shade-off emerge from it (Yin, Kanade & Chen 2012).

Partially coherent (Köhler) illumination is computed by Abbe's method: the image is the
incoherent sum of the coherent images formed by each point of the condenser aperture, each a
plane wave tilted by its spatial frequency ``s`` (Born & Wolf, *Principles of Optics*, ch. 10).
For a tilted plane wave the object's spectrum ``O(f)`` meets the pupil at ``f + s``, so each
point contributes ``|IFFT[O(f) P(f + s)]|²`` (the field is periodic over the frame).

Units: lengths in micrometres, spatial frequencies in cycles per micrometre, intensities
relative to the illumination (1 = the light that reaches the camera with no specimen and a
clear pupil).

Sources:

- J. W. Goodman, *Introduction to Fourier Optics*, 3rd ed. (2005): angular-spectrum
  propagation (§3.10), coherent imaging and the pupil (ch. 6).
- M. Born & E. Wolf, *Principles of Optics*, 7th ed. (1999), ch. 10: partially coherent imaging.
- F. Zernike, "Phase contrast, a new method for the microscopic observation of transparent
  objects", *Physica* 9, 686-698 (1942).
- Z. Yin, T. Kanade & M. Chen, "Understanding the phase contrast optics to restore artifact-free
  microscopy images for segmentation", *Medical Image Analysis* 16, 1047-1062 (2012).
- M. R. Teague, "Deterministic phase retrieval: a Green's function solution", *J. Opt. Soc.
  Am.* 73, 1434-1441 (1983): transport of intensity, ``∂I/∂z = -(λ/2π) ∇·(I∇φ)``; for small
  defocus a phase object's contrast is ``-(λ dz / 2π n) ∇²φ``, odd in ``dz``.
- C. L. Curl et al., "Refractive index measurement in viable cells using quantitative
  phase-amplitude microscopy and confocal microscopy", *Cytometry A* 65, 88-92 (2005):
  cell refractive indices about 1.36-1.39, against about 1.335 for culture medium.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WAVELENGTH_UM = 0.55  # green light, the usual filter for phase contrast (assumption)
N_MEDIUM = 1.335  # culture medium, a little above water's 1.333 (assumption)
Pupil = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (fy, fx) in cycles/µm -> transmission


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_optics(wavelength_um: float, pixel_um: float, n_medium: float = N_MEDIUM) -> None:
    _require(wavelength_um > 0, f"wavelength_um must be > 0, got {wavelength_um}")
    _require(pixel_um > 0, f"pixel_um must be > 0, got {pixel_um}")
    _require(n_medium >= 1, f"n_medium must be >= 1, got {n_medium}")


def _check_na(na_objective: float, n_medium: float = N_MEDIUM) -> None:
    _require(
        0 < na_objective < n_medium,
        f"na_objective must lie in (0, n_medium={n_medium}), got {na_objective}",
    )


def phase_from_thickness(
    thickness_um: np.ndarray | float, delta_n: np.ndarray | float, wavelength_um: float
) -> np.ndarray:
    """Phase delay φ = 2π Δn t / λ (radians) of a thickness ``t`` (µm) whose refractive index
    exceeds the medium's by ``Δn``; λ is the vacuum wavelength (µm). Assumes a thin specimen
    (no refraction inside it: the thin-element approximation, as for the thin lens in
    Goodman §5.1)."""
    _require(wavelength_um > 0, f"wavelength_um must be > 0, got {wavelength_um}")
    return 2 * np.pi * np.asarray(delta_n) * np.asarray(thickness_um) / wavelength_um


def specimen_field(phase: np.ndarray, transmission: np.ndarray | float = 1.0) -> np.ndarray:
    """The complex transmission ``sqrt(T) exp(iφ)`` of a thin specimen (T: intensity
    transmission in [0, 1], φ in radians)."""
    transmission = np.asarray(transmission, dtype=float)
    _require(
        bool(np.all((transmission >= 0) & (transmission <= 1))), "transmission must be in [0, 1]"
    )
    return np.sqrt(transmission) * np.exp(1j * np.asarray(phase, dtype=float))


def frequencies(shape: tuple[int, int], pixel_um: float) -> tuple[np.ndarray, np.ndarray]:
    """The FFT's spatial-frequency grids (fy, fx) in cycles/µm for an image of ``shape``."""
    _require(pixel_um > 0, f"pixel_um must be > 0, got {pixel_um}")
    fy = np.fft.fftfreq(shape[0], pixel_um)[:, None]
    fx = np.fft.fftfreq(shape[1], pixel_um)[None, :]
    return fy, fx


def defocus_kernel(
    fy: np.ndarray, fx: np.ndarray, dz_um: float, wavelength_um: float, n_medium: float
) -> np.ndarray:
    """Angular-spectrum transfer function of free space over ``dz`` (Goodman §3.10):
    ``exp(i 2π dz sqrt((n/λ)² - f²))`` for propagating waves, 0 for evanescent ones. The
    on-axis phase ``2π dz n/λ`` is removed (it changes no intensity)."""
    k2 = (n_medium / wavelength_um) ** 2 - fy**2 - fx**2
    kz = np.sqrt(np.clip(k2, 0, None))
    return np.where(k2 > 0, np.exp(2j * np.pi * dz_um * (kz - n_medium / wavelength_um)), 0)


def propagate(
    field: np.ndarray,
    dz_um: float,
    pixel_um: float,
    wavelength_um: float = WAVELENGTH_UM,
    n_medium: float = N_MEDIUM,
) -> np.ndarray:
    """The complex field [H, W] after free propagation by ``dz`` µm in a medium of index
    ``n`` (angular-spectrum method, exact within scalar diffraction; the field is periodic
    over the frame). Energy is conserved for fields without evanescent components."""
    _check_optics(wavelength_um, pixel_um, n_medium)
    fy, fx = frequencies(field.shape, pixel_um)
    kernel = defocus_kernel(fy, fx, dz_um, wavelength_um, n_medium)
    return np.fft.ifft2(np.fft.fft2(field) * kernel)


def disc_source(na_condenser: float, wavelength_um: float, rings: int = 2) -> np.ndarray:
    """Points sampling a uniformly filled condenser disc of radius ``NA_c / λ`` (cycles/µm),
    [K, 2] as (fy, fx): the centre plus ``rings`` concentric rings of 6, 12, ... points at the
    radii splitting the disc into equal areas. ``na_condenser = 0`` is coherent light."""
    _require(na_condenser >= 0, f"na_condenser must be >= 0, got {na_condenser}")
    _require(wavelength_um > 0, f"wavelength_um must be > 0, got {wavelength_um}")
    points = [(0.0, 0.0)]
    if na_condenser > 0:
        radius = na_condenser / wavelength_um
        for j in range(1, rings + 1):
            r = radius * np.sqrt((j - 0.5) / rings + 0.5 / rings / (rings + 1))
            angles = 2 * np.pi * (np.arange(6 * j) + 0.5 * (j % 2)) / (6 * j)
            points += [(r * np.sin(a), r * np.cos(a)) for a in angles]
    return np.array(points)


def annulus_source(
    na_centre: float, na_width: float, wavelength_um: float, angles: int = 16, radii: int = 2
) -> np.ndarray:
    """Points sampling a condenser annulus of mean radius ``NA_centre / λ`` and width
    ``NA_width / λ`` (cycles/µm), [angles × radii, 2] as (fy, fx)."""
    _require(na_centre > 0 and na_width >= 0, "the annulus needs na_centre > 0, na_width >= 0")
    _require(na_width < 2 * na_centre, "the annulus is wider than its diameter")
    _require(angles >= 3 and radii >= 1, "sample the annulus with angles >= 3 and radii >= 1")
    offsets = (np.arange(radii) + 0.5) / radii - 0.5 if radii > 1 else np.zeros(1)
    points = []
    for k, offset in enumerate(offsets):
        r = (na_centre + offset * na_width) / wavelength_um
        a = 2 * np.pi * (np.arange(angles) + 0.5 * k) / angles
        points.append(np.stack([r * np.sin(a), r * np.cos(a)], 1))
    return np.concatenate(points)


def _abbe_image(
    field: np.ndarray, pixel_um: float, sources: np.ndarray, pupil: Pupil
) -> np.ndarray:
    """Abbe's method: the mean over source points ``s`` of ``|IFFT[O(f) P(f + s)]|²``."""
    spectrum = np.fft.fft2(field)
    fy, fx = frequencies(field.shape, pixel_um)
    image = np.zeros(field.shape)
    for sy, sx in sources:
        image += np.abs(np.fft.ifft2(spectrum * pupil(fy + sy, fx + sx))) ** 2
    return image / len(sources)


def brightfield(
    field: np.ndarray,
    pixel_um: float,
    defocus_um: float = 0.0,
    na_objective: float = 0.25,
    na_condenser: float = 0.1,
    wavelength_um: float = WAVELENGTH_UM,
    n_medium: float = N_MEDIUM,
    source_rings: int = 2,
) -> np.ndarray:
    """Brightfield intensity [H, W] of a specimen field ``sqrt(T) exp(iφ)`` [H, W] sampled at
    ``pixel_um``, the focal plane ``defocus_um`` away from the specimen.

    Model: Köhler illumination from a uniformly filled condenser disc of ``na_condenser``
    (sampled by :func:`disc_source`, Abbe's method), a clear circular pupil of
    ``na_objective`` and the angular-spectrum defocus. Assumes a thin specimen, scalar
    diffraction, a dry objective at unit magnification (the pixel is the specimen-plane
    pixel). Defaults (assumptions): a 10×/0.25 objective, the condenser stopped down to
    NA 0.1 for contrast, green light (λ 0.55 µm). A pure phase object gives almost no contrast
    in focus and contrast ∝ ``-dz ∇²φ`` for small defocus (Teague 1983).
    """
    _check_optics(wavelength_um, pixel_um, n_medium)
    _check_na(na_objective, n_medium)
    _require(
        0 <= na_condenser <= na_objective,
        f"brightfield needs 0 <= na_condenser <= na_objective, got {na_condenser}",
    )
    cutoff = na_objective / wavelength_um

    def pupil(fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
        inside = fy**2 + fx**2 <= cutoff**2
        return inside * defocus_kernel(fy, fx, defocus_um, wavelength_um, n_medium)

    sources = disc_source(na_condenser, wavelength_um, source_rings)
    return _abbe_image(field, pixel_um, sources, pupil)


def phase_contrast(
    field: np.ndarray,
    pixel_um: float,
    na_objective: float = 0.25,
    ring_na: float = 0.15,
    ring_width_na: float = 0.04,
    ring_transmission: float = 0.3,
    ring_phase: float = -np.pi / 2,
    annulus_width_na: float = 0.02,
    defocus_um: float = 0.0,
    wavelength_um: float = WAVELENGTH_UM,
    n_medium: float = N_MEDIUM,
    source_angles: int = 16,
) -> np.ndarray:
    """Zernike phase-contrast intensity [H, W] of a specimen field ``sqrt(T) exp(iφ)``.

    Model (Zernike 1942; Yin, Kanade & Chen 2012): the condenser annulus (mean radius
    ``ring_na``, width ``annulus_width_na``, sampled at ``source_angles`` angles and 2 radii)
    is imaged onto a phase ring in the objective's pupil of the same mean radius and width
    ``ring_width_na``. Light crossing the ring is multiplied by
    ``ring_transmission · exp(i ring_phase)``; the rest of the pupil (radius
    ``na_objective``) is clear. The undiffracted light crosses the ring, and so does the
    scattered light of low spatial frequency (within the ring's width): that part is treated
    like the background, which makes the halo around an object and the shade-off inside a
    wide one.

    With the convention ``exp(+iφ)`` for a delay, ``ring_phase = -π/2`` advances the direct
    light by a quarter wave: positive (dark-contrast) phase contrast, the usual "Ph"
    objective, where a weak phase object is darker than the background and ringed by a
    bright halo; ``+π/2`` is negative (bright-contrast) phase contrast. Defaults are
    assumptions for a 10×/0.25 Ph1 objective: ring at NA 0.15, 0.04 wide, amplitude
    transmission 0.3 (about 9 % of the intensity).
    """
    _check_optics(wavelength_um, pixel_um, n_medium)
    _check_na(na_objective, n_medium)
    _require(
        ring_width_na > 0 and ring_na - ring_width_na / 2 > 0,
        f"the ring (centre {ring_na}, width {ring_width_na}) must have a positive inner radius",
    )
    _require(
        ring_na + ring_width_na / 2 <= na_objective,
        f"the ring (centre {ring_na}, width {ring_width_na}) must fit in the pupil "
        f"(na_objective {na_objective})",
    )
    _require(
        annulus_width_na <= ring_width_na, "the condenser annulus must be no wider than the ring"
    )
    _require(
        0 <= ring_transmission <= 1, f"ring_transmission must be in [0, 1], got {ring_transmission}"
    )
    cutoff = na_objective / wavelength_um
    inner = (ring_na - ring_width_na / 2) / wavelength_um
    outer = (ring_na + ring_width_na / 2) / wavelength_um
    ring_factor = ring_transmission * np.exp(1j * ring_phase)

    def pupil(fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
        f2 = fy**2 + fx**2
        ring = (f2 >= inner**2) & (f2 <= outer**2)
        clear = (f2 <= cutoff**2).astype(complex)
        clear[ring] = ring_factor
        if defocus_um:
            clear *= defocus_kernel(fy, fx, defocus_um, wavelength_um, n_medium)
        return clear

    sources = annulus_source(ring_na, annulus_width_na, wavelength_um, source_angles)
    return _abbe_image(field, pixel_um, sources, pupil)


def bin_pixels(image: np.ndarray, factor: int) -> np.ndarray:
    """Camera pixels of ``factor × factor`` simulation pixels (their mean); the image's sides
    must be multiples of ``factor``."""
    h, w = image.shape
    _require(factor >= 1 and h % factor == 0 and w % factor == 0, f"cannot bin {h}x{w} by {factor}")
    return image.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def uneven_illumination(
    rng: np.random.Generator, shape: tuple[int, int], strength: float
) -> np.ndarray:
    """A smooth gain across the field, ``1 ± strength``: a random tilt plus a broad bump, as
    from an off-centre lamp or a misaligned condenser (assumed form, not measured)."""
    _require(0 <= strength < 1, f"strength must be in [0, 1), got {strength}")
    rr, cc = np.meshgrid(*(np.linspace(-0.5, 0.5, n) for n in shape), indexing="ij")
    ty, tx = rng.normal(0, 0.5, 2)
    y0, x0 = rng.uniform(-0.4, 0.4, 2)
    bump = np.exp(-((rr - y0) ** 2 + (cc - x0) ** 2) / 0.2)
    gain = ty * rr + tx * cc + bump - bump.mean()
    return 1 + strength * gain / max(np.abs(gain).max(), 1e-12)


def camera(
    rng: np.random.Generator, intensity: np.ndarray, photons: float, read_noise: float
) -> np.ndarray:
    """A camera image in units of the illumination: Poisson photon counts with ``photons``
    photoelectrons per pixel at intensity 1 (shot noise), plus Gaussian read noise of
    ``read_noise`` electrons (sCMOS datasheets: about 1-2 e⁻ rms), divided by ``photons``."""
    _require(photons > 0 and read_noise >= 0, "need photons > 0 and read_noise >= 0")
    counts = rng.poisson(np.clip(intensity, 0, None) * photons).astype(float)
    return (counts + rng.normal(0, read_noise, intensity.shape)) / photons
