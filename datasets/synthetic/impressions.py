"""Impressions of a master print: contact, pressure, skin distortion, displacement, noise.

SFinGe derives each impression from the master's ridge pattern (Cappelli, Maio & Maltoni,
ICPR 2000; *Handbook of Fingerprint Recognition* §6.5):

1. **contact region**: only part of the finger touches the sensor, an ellipse placed at random
   inside the fingerprint area (its border fades over a few pixels);
2. **pressure / skin condition**: the ridges are thinned (dry skin, light pressure) or
   thickened (wet skin, heavy pressure) by a grey-level erosion or dilation (§6.5.1);
3. **skin distortion**: the plastic distortion model of Cappelli, Maio & Maltoni ("Modelling
   plastic distortion in fingerprint images", ICAPR 2001): points inside a close-contact
   ellipse stay put, points far from it follow a rigid translation + rotation, and a brake
   function ``brake(d) = (1 - cos(pi min(d, k) / k)) / 2`` of the distance ``d`` to the ellipse
   blends the two over a transitional band of width ``k`` (§6.5.2);
4. **ridge noise**: pores and breaks (small holes in the ridges) and uneven contrast (§6.5.3);
5. **global displacement**: a rotation about the image centre and a translation (§6.5.4).

Geometry is computed backwards: for every output pixel, where it comes from in the master.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from datasets.synthetic import _kernels
from datasets.synthetic.orientation import FingerprintArea

__all__ = ["ImpressionParams", "contact_mask", "press", "smooth_noise", "source_coordinates", "upsample"]


@dataclass(frozen=True)
class ImpressionParams:
    """How much impressions of one finger differ (ranges are drawn uniformly per impression).

    Attributes
    ----------
    max_rotation_deg, max_translation_px : float
        Global displacement bounds.
    max_distortion_px, max_distortion_rotation_deg : float
        Bounds of the rigid motion of the skin outside the close-contact region.
    brake_px : (float, float)
        Width of the transitional band of the distortion model.
    contact_scale : (float, float)
        Contact ellipse semi-axes relative to the fingerprint area's.
    contact_shift : float
        Largest shift of the contact ellipse, relative to the area's half-width.
    max_pressure_px : int
        Largest erosion (negative pressure) or dilation (positive) radius.
    pore_density : (float, float)
        Holes per 1000 ridge pixels.
    contrast_variation : float
        Depth of the low-frequency contrast modulation (0: uniform contrast).
    sensor_noise : (float, float)
        Standard deviation of the additive grey-level noise.
    """

    max_rotation_deg: float = 25.0
    max_translation_px: float = 60.0
    max_distortion_px: float = 25.0
    max_distortion_rotation_deg: float = 8.0
    brake_px: tuple[float, float] = (60.0, 140.0)
    contact_scale: tuple[float, float] = (0.6, 1.05)
    contact_shift: float = 0.3
    max_pressure_px: int = 1
    pore_density: tuple[float, float] = (1.0, 6.0)
    contrast_variation: float = 0.75
    sensor_noise: tuple[float, float] = (6.0, 18.0)


def contact_mask(shape: tuple[int, int], area: FingerprintArea, rng: np.random.Generator,
                 params: ImpressionParams) -> npt.NDArray[np.float32]:
    """Soft ``(H, W)`` float32 map in ``[0, 1]``: the part of the master that touches the sensor."""
    scale_r = rng.uniform(*params.contact_scale)
    scale_c = rng.uniform(*params.contact_scale)
    half_width = (area.a1 + area.a2) / 2
    half_height = (area.b1 + area.b2 + area.c) / 2
    center_r = area.center_row + rng.uniform(-1, 1) * params.contact_shift * half_height
    center_c = area.center_col + rng.uniform(-1, 1) * params.contact_shift * half_width
    rows, cols = np.ogrid[0:shape[0], 0:shape[1]]
    ellipse = np.hypot((rows - center_r) / (scale_r * half_height),
                       (cols - center_c) / (scale_c * half_width))
    edge_px = rng.uniform(4.0, 12.0)
    soft = np.clip((1.0 - ellipse) * min(half_width, half_height) / edge_px, 0.0, 1.0)
    return (soft * area.mask(shape)).astype(np.float32)


def press(pattern: npt.NDArray[np.float32], rng: np.random.Generator,
          params: ImpressionParams) -> npt.NDArray[np.float32]:
    """Ridge ink ``(H, W)`` float32 in ``[0, 1]`` (1 = ridge touching) from a master pattern.

    Applies a random pressure (erosion or dilation, §6.5.1), pores and ridge breaks, and a
    low-frequency contrast modulation (§6.5.3).
    """
    ink = np.clip(0.5 + 2.0 * pattern, 0.0, 1.0)      # saturate the ridges' profile
    radius = int(rng.integers(-params.max_pressure_px, params.max_pressure_px + 1))
    if radius:
        span = np.mgrid[-abs(radius):abs(radius) + 1, -abs(radius):abs(radius) + 1]
        footprint = np.hypot(*span) <= abs(radius) + 0.3
        ink = (ndi.grey_dilation if radius > 0 else ndi.grey_erosion)(ink, footprint=footprint)
    h, w = ink.shape
    # pores and breaks: small holes in the ridges
    n_pores = int(rng.uniform(*params.pore_density) * float(ink.sum()) / 1000.0)
    holes = np.zeros((h, w), dtype=np.float32)
    holes[rng.integers(0, h, n_pores), rng.integers(0, w, n_pores)] = 1.0
    holes = ndi.gaussian_filter(holes, rng.uniform(0.7, 1.1)) * 8.0
    ink = ink * (1.0 - np.clip(holes, 0.0, 1.0))
    # uneven contrast (pressure and moisture differ across the pad)
    contrast = 1.0 - params.contrast_variation * smooth_noise((h, w), 32, rng) ** 2
    return (ink * contrast).astype(np.float32)


def source_coordinates(shape: tuple[int, int], area: FingerprintArea, rng: np.random.Generator,
                       params: ImpressionParams) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Master ``(rows, cols)`` float32 ``(H, W)`` of every output pixel (distortion, then displacement).

    The forward map is ``v -> G(v + brake(d_R(v)) * (T(v) - v))`` with ``T`` the skin's rigid
    motion outside the close-contact ellipse ``R`` and ``G`` the global displacement; it is
    inverted by fixed-point iteration (the distortion is small and smooth).
    """
    h, w = shape
    step = _GRID_PX                          # the map is smooth: solve on a coarse grid, then upsample
    rows, cols = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float64)
    # inverse global displacement G^-1 (rotation about the image centre, then translation)
    theta = math.radians(rng.uniform(-params.max_rotation_deg, params.max_rotation_deg))
    shift = rng.uniform(-params.max_translation_px, params.max_translation_px, size=2)
    cr, cc = h / 2, w / 2
    qr = rows - cr - shift[0]
    qc = cols - cc - shift[1]
    cos_t, sin_t = math.cos(-theta), math.sin(-theta)
    ur = cr + cos_t * qr + sin_t * qc
    uc = cc - sin_t * qr + cos_t * qc
    # close-contact ellipse R and the skin's rigid motion T outside it (Cappelli et al. 2001)
    rr = area.center_row + rng.uniform(-0.15, 0.15) * area.c
    rc = area.center_col + rng.uniform(-0.15, 0.15) * (area.a1 + area.a2) / 2
    ra = rng.uniform(0.15, 0.3) * (area.b1 + area.b2 + area.c) / 2
    rb = rng.uniform(0.15, 0.3) * (area.a1 + area.a2) / 2
    k = rng.uniform(*params.brake_px)
    magnitude = rng.uniform(0.0, 1.0)
    direction = rng.uniform(0.0, 2 * math.pi)
    tr = magnitude * params.max_distortion_px * math.sin(direction)
    tc = magnitude * params.max_distortion_px * math.cos(direction)
    alpha = math.radians(rng.uniform(-1, 1) * params.max_distortion_rotation_deg)
    ca, sa = math.cos(alpha), math.sin(alpha)

    def displacement(vr, vc):
        dr, dc = vr - rr, vc - rc
        moved_r = rr + ca * dr + sa * dc + tr
        moved_c = rc - sa * dr + ca * dc + tc
        distance = np.clip(np.hypot(dr / ra, dc / rb) - 1.0, 0.0, None) * min(ra, rb)
        brake = 0.5 * (1.0 - np.cos(np.pi * np.minimum(distance, k) / k))
        return brake * (moved_r - vr), brake * (moved_c - vc)

    vr, vc = ur.copy(), uc.copy()
    for _ in range(4):                       # solve v + D(v) = u for v
        dr, dc = displacement(vr, vc)
        vr, vc = ur - dr, uc - dc
    return upsample(vr.astype(np.float32), step, shape), upsample(vc.astype(np.float32), step, shape)


_GRID_PX = 8


def upsample(grid: npt.NDArray[np.float32], step: int, shape: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Bilinear ``(H, W)`` map from values on a grid of nodes every ``step`` px, node 0 at pixel 0."""
    rows = np.broadcast_to((np.arange(shape[0], dtype=np.float32) / step)[:, None], shape)
    cols = np.broadcast_to((np.arange(shape[1], dtype=np.float32) / step)[None, :], shape)
    return _kernels.remap(grid, np.ascontiguousarray(rows), np.ascontiguousarray(cols), np.float32(0.0))


def smooth_noise(shape: tuple[int, int], cell_px: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Random ``(H, W)`` float32 field in ``[0, 1]`` varying over about ``cell_px`` pixels."""
    grid = ndi.gaussian_filter(rng.random((shape[0] // cell_px + 3, shape[1] // cell_px + 3)), 0.8)
    grid = (grid - grid.min()) / max(float(np.ptp(grid)), 1e-9)
    return upsample(grid.astype(np.float32), cell_px, shape)
