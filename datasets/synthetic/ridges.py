"""Ridge-frequency map and ridge pattern of a master fingerprint.

SFinGe (Cappelli, Maio & Maltoni, ICPR 2000; *Handbook of Fingerprint Recognition* §6.4.3-6.4.4):
the ridge frequency is a smooth random map around 1/9 px^-1 at 500 dpi, lower (wider ridges)
near the singular points; the ridge pattern is grown from a few random seeds by applying, again
and again, Gabor filters tuned to the local orientation and frequency, which saturates into
ridges and valleys and leaves natural minutiae where growing fronts meet out of phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from datasets.synthetic import _kernels
from datasets.synthetic.orientation import SingularPoints

__all__ = ["GrowthParams", "frequency_map", "gabor_bank", "grow_ridges"]


@dataclass(frozen=True)
class GrowthParams:
    """Tunables of the ridge growth.

    Attributes
    ----------
    angle_bins, frequency_bins : int
        Size of the Gabor filter bank (orientation quantised over ``[0, pi)``).
    min_period_px, max_period_px : float
        Ridge periods covered by the bank.
    sigma_px : float
        Standard deviation of the Gabor envelope.
    half_px : int
        Kernel half-size (kernels are ``2 half + 1`` square).
    gain : float
        Amplification before clipping to ``[-1, 1]`` (>1 so that ridges saturate).
    max_iterations : int
        Hard cap on iterations.
    settle_iterations : int
        Iterations run after the seeds' fronts have covered the whole region.
    coarse_factor : int
        Grow on a grid this much coarser, then upsample (1: grow at full resolution).
    refine_iterations : int
        Full-resolution passes after upsampling.
    seeds : (int, int)
        Inclusive range of the number of random seeds.
    tolerance : float
        A pixel whose value moves less than this no longer wakes its neighbours.
    """

    angle_bins: int = 32
    frequency_bins: int = 12
    min_period_px: float = 6.5
    max_period_px: float = 13.0
    sigma_px: float = 3.2
    half_px: int = 7
    gain: float = 2.5
    max_iterations: int = 120
    settle_iterations: int = 8
    coarse_factor: int = 2
    refine_iterations: int = 3
    seeds: tuple[int, int] = (6, 12)
    tolerance: float = 0.1


def frequency_map(shape: tuple[int, int], points: SingularPoints, rng: np.random.Generator, *,
                  period_px: float = 9.0) -> npt.NDArray[np.float32]:
    """Smooth random ridge frequency ``(H, W)`` float32 in px^-1, ~ ``1 / period_px``.

    The period wanders by about +-8% over a few hundred pixels and grows by up to ~12% within
    ~60 px of a singular point (handbook §6.4.3: density is lower around cores and deltas).
    """
    h, w = shape
    noise = ndi.gaussian_filter(rng.standard_normal((h // 8 + 1, w // 8 + 1)), 6.0, mode="reflect")
    noise /= max(float(np.abs(noise).max()), 1e-9)
    noise = ndi.zoom(noise, (h / noise.shape[0], w / noise.shape[1]), order=1)[:h, :w]
    period = period_px * rng.uniform(0.92, 1.08) * (1.0 + 0.08 * noise)
    rows, cols = np.ogrid[0:h, 0:w]
    for r, c in np.concatenate([points.cores, points.deltas]):
        period *= 1.0 + 0.12 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 60.0 ** 2))
    return (1.0 / period).astype(np.float32)


def gabor_bank(params: GrowthParams) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Even-symmetric Gabor kernels ``(angle_bins, frequency_bins, k, k)`` and their frequencies.

    Kernel ``[a, f]`` is ``exp(-(u^2 + v^2) / 2 sigma^2) cos(2 pi f_f u)`` with ``u`` the
    coordinate across a ridge of orientation ``pi a / angle_bins``, made zero-mean and scaled
    so that a unit cosine grating of its frequency passes with gain 1 (Hong et al. 1998, eq. 13).
    """
    half = params.half_px
    t = np.arange(-half, half + 1, dtype=np.float64)
    dr, dc = np.meshgrid(t, t, indexing="ij")
    frequencies = np.linspace(1 / params.max_period_px, 1 / params.min_period_px, params.frequency_bins)
    bank = np.empty((params.angle_bins, params.frequency_bins, t.size, t.size), dtype=np.float32)
    envelope = np.exp(-(dr * dr + dc * dc) / (2 * params.sigma_px ** 2))
    for a in range(params.angle_bins):
        phi = math.pi * a / params.angle_bins
        across = -dc * math.sin(phi) + dr * math.cos(phi)
        for f, frequency in enumerate(frequencies):
            kernel = envelope * np.cos(2 * math.pi * frequency * across)
            kernel -= envelope * (kernel.sum() / envelope.sum())
            response = (kernel * np.cos(2 * math.pi * frequency * across)).sum()
            bank[a, f] = kernel / response
    return bank, frequencies


def grow_ridges(orientation: npt.NDArray[np.float32], frequency: npt.NDArray[np.float32],
                region: npt.NDArray[np.bool_], rng: np.random.Generator,
                params: GrowthParams = GrowthParams()) -> npt.NDArray[np.float32]:
    """Ridge pattern ``(H, W)`` float32 in ``[-1, 1]`` (ridges positive) grown inside ``region``.

    Starts from a zero image with a few random seeds (small discs of ridges) and applies
    :func:`_kernels.gabor_step` until nothing changes, the fronts have met and settled, or
    ``max_iterations``; only pixels near a change are recomputed. With ``coarse_factor`` > 1
    the growth runs on a grid that much coarser (the maps subsampled, the filter bank scaled),
    then the pattern is upsampled and refined by ``refine_iterations`` full-resolution passes:
    the same ridges, an order of magnitude faster.

    Examples
    --------
    >>> shape = (64, 64)
    >>> pattern = grow_ridges(np.full(shape, 0.3, np.float32), np.full(shape, 1 / 9, np.float32),
    ...                       np.ones(shape, bool), np.random.default_rng(0))
    >>> pattern.shape, pattern.dtype, float(np.abs(pattern).mean()) > 0.5
    ((64, 64), dtype('float32'), True)
    """
    factor = params.coarse_factor
    if factor <= 1:
        return _grow(orientation, frequency, region, rng, params)
    coarse = replace(params, coarse_factor=1, min_period_px=params.min_period_px / factor,
                     max_period_px=params.max_period_px / factor, sigma_px=params.sigma_px / factor,
                     half_px=max(2, int(math.ceil(params.half_px / factor))))
    small = _grow(orientation[::factor, ::factor], frequency[::factor, ::factor] * factor,
                  region[::factor, ::factor], rng, coarse)
    h, w = region.shape
    rows = (np.arange(h, dtype=np.float32) / factor)[:, None] + np.zeros((1, w), np.float32)
    cols = (np.arange(w, dtype=np.float32) / factor)[None, :] + np.zeros((h, 1), np.float32)
    pattern = _kernels.remap(small, np.minimum(rows, small.shape[0] - 1),
                             np.minimum(cols, small.shape[1] - 1), np.float32(0.0))
    bank, angle_index, frequency_index = _indices(orientation, frequency, params)
    for _ in range(params.refine_iterations):
        pattern, _changed = _kernels.gabor_step(pattern, region, angle_index, frequency_index, bank,
                                                np.float32(params.gain), np.float32(params.tolerance))
    return pattern


def _indices(orientation, frequency, params):
    """The filter bank and each pixel's orientation and frequency bin in it."""
    bank, frequencies = _bank_cached(params)
    angle_index = (np.rint(orientation * (params.angle_bins / math.pi)).astype(np.int64) % params.angle_bins)
    step = frequencies[1] - frequencies[0] if len(frequencies) > 1 else 1.0
    frequency_index = np.clip(np.rint((frequency - frequencies[0]) / step), 0,
                              len(frequencies) - 1).astype(np.int64)
    return bank, angle_index, frequency_index


def _grow(orientation, frequency, region, rng, params):
    """Growth from seeds at one resolution (see :func:`grow_ridges`)."""
    bank, angle_index, frequency_index = _indices(orientation, frequency, params)
    h, w = region.shape
    pattern = np.zeros((h, w), dtype=np.float32)
    inside = np.flatnonzero(region)
    n_seeds = int(rng.integers(params.seeds[0], params.seeds[1] + 1))
    for index in rng.choice(inside, size=min(n_seeds, inside.size), replace=False):
        _stamp_seed(pattern, index // w, index % w, float(orientation.flat[index]),
                    float(frequency.flat[index]), params.half_px)
    changed = pattern != 0
    settle = params.settle_iterations
    for _ in range(params.max_iterations):
        active = _kernels.dilate_box(changed, params.half_px) & region
        if not active.any():
            break
        pattern, changed = _kernels.gabor_step(pattern, active, angle_index, frequency_index, bank,
                                               np.float32(params.gain), np.float32(params.tolerance))
        if settle < params.settle_iterations or not (region & (pattern == 0)).any():
            settle -= 1          # the region is covered: a few more passes to settle the fronts
            if settle < 0:
                break
    return pattern


def _stamp_seed(pattern: npt.NDArray[np.float32], row: int, col: int, phi: float, frequency: float,
                radius: int) -> None:
    """Writes a disc of ridges (a cosine grating of the local orientation and frequency)."""
    h, w = pattern.shape
    r0, r1 = max(row - radius, 0), min(row + radius + 1, h)
    c0, c1 = max(col - radius, 0), min(col + radius + 1, w)
    dr, dc = np.mgrid[r0 - row:r1 - row, c0 - col:c1 - col]
    across = -dc * math.sin(phi) + dr * math.cos(phi)
    disc = dr * dr + dc * dc <= radius * radius
    patch = pattern[r0:r1, c0:c1]
    patch[disc] = np.cos(2 * math.pi * frequency * across[disc])


_BANKS: dict[GrowthParams, tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]] = {}


def _bank_cached(params: GrowthParams) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    if params not in _BANKS:
        _BANKS[params] = gabor_bank(params)
    return _BANKS[params]
