"""Numpy kernels of the template-level generator: master minutiae sets and their impressions.

Private to :mod:`datasets.synthetic.templates`, which documents the model and owns the
tunables (``p`` below is its :class:`~datasets.synthetic.templates.TemplateSynthesisParams`).
Master coordinates are pixels at 500 dpi, ``x`` to the right and ``y`` downwards, origin at
the centre of the finger area; angles follow :mod:`matcher.template` (counter-clockwise as
the image is viewed, so a direction ``(dx, dy)`` has angle ``atan2(-dy, dx)``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

#: Henry classes and their frequencies in the population (Wilson, Candela & Watson 1994, as
#: used by SFinGe, Handbook of Fingerprint Recognition ch. 6): arch, tented arch, left loop,
#: right loop, whorl.
CLASS_FREQUENCIES = np.array([0.037, 0.029, 0.338, 0.317, 0.279])


class MasterMinutiae(NamedTuple):
    """Minutiae of a master finger, in master coordinates (module docstring)."""

    x: F64
    y: F64
    angle: F64
    kind: npt.NDArray[np.uint8]
    reliability: F64            # 0-1, how surely a capture shows the minutia
    semi_axes: tuple[float, float]
    cores: F64                  # (k, 2) singular points of the orientation model
    deltas: F64
    finger_class: int


def singular_points(finger_class: int, a: float, b: float, rng: np.random.Generator) -> tuple[F64, F64]:
    """Cores and deltas ``(k, 2)`` of a Henry class on an ``a`` x ``b`` semi-axes finger area.

    Positions follow SFinGe's placement (Handbook ch. 6.4): loops have a core above the centre
    and a delta below on one side, whorls two cores and two deltas, arches a core-delta pair
    (close together for tented arches, below the print for plain arches).
    """
    jitter = rng.normal(0.0, 1.0, size=(4, 2)) * (0.06 * a, 0.05 * b)
    cx, cy = jitter[0]
    if finger_class == 0:       # plain arch: the pair far below, only its curvature reaches the print
        cores = np.array([[cx, 0.9 * b]])
        deltas = np.array([[cx, 1.25 * b]])
    elif finger_class == 1:     # tented arch
        cores = np.array([[cx, cy]])
        deltas = np.array([[cx, cy + rng.uniform(0.25, 0.4) * b]])
    elif finger_class in (2, 3):  # loops: delta lower right (left loop) or lower left (right loop)
        side = 1.0 if finger_class == 2 else -1.0
        cores = np.array([[cx, cy - 0.1 * b]])
        deltas = np.array([[cx + side * rng.uniform(0.45, 0.7) * a, cy + rng.uniform(0.45, 0.65) * b]])
    else:                       # whorl
        gap = rng.uniform(0.1, 0.25) * b
        cores = np.array([[cx, cy - gap], [cx + jitter[1, 0], cy + gap]])
        deltas = np.array([[cx - rng.uniform(0.5, 0.75) * a, cy + rng.uniform(0.5, 0.7) * b],
                           [cx + rng.uniform(0.5, 0.75) * a, cy + rng.uniform(0.5, 0.7) * b]])
    return cores, deltas


def orientation(x: F64, y: F64, cores: F64, deltas: F64, base_rad: float) -> F64:
    """Ridge orientation in ``[0, pi)`` at ``(x, y)``: the zero-pole model.

    Sherlock & Monro 1993 (Handbook eq. 3.4): ``theta = theta_0 + 1/2 (sum arg(z - z_delta) -
    sum arg(z - z_core))`` with ``z = x - i y`` (the viewed orientation, y pointing up).
    """
    z = x - 1j * y
    theta = np.full(x.shape, base_rad)
    for cx, cy in deltas:
        theta += 0.5 * np.angle(z - (cx - 1j * cy))
    for cx, cy in cores:
        theta -= 0.5 * np.angle(z - (cx - 1j * cy))
    return np.mod(theta, np.pi)


def uniform_in_ellipse(n: int, a: float, b: float, rng: np.random.Generator) -> tuple[F64, F64]:
    """``n`` points uniform in the ellipse of semi-axes ``a``, ``b`` centred on the origin."""
    radius = np.sqrt(rng.random(n))
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    return a * radius * np.cos(phi), b * radius * np.sin(phi)


def hard_core_thinning(x: F64, y: F64, min_distance: float, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """Matérn type II thinning: drop every point with an older neighbour closer than ``min_distance``.

    Each point gets a random age; the result keeps no two points closer than ``min_distance``.
    """
    age = rng.random(x.size)
    close = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2 < min_distance ** 2
    np.fill_diagonal(close, False)
    return ~np.any(close & (age[None, :] < age[:, None]), axis=1)


def sample_master(rng: np.random.Generator, p: Any) -> MasterMinutiae:
    """A master minutiae set: finger area, class, orientation field, spaced minutiae, kinds."""
    a = rng.uniform(*p.semi_width_px)
    b = rng.uniform(*p.semi_height_px)
    finger_class = int(rng.choice(5, p=CLASS_FREQUENCIES))
    cores, deltas = singular_points(finger_class, a, b, rng)
    density = p.minutiae_per_px2 * math.exp(rng.normal(0.0, p.density_log_sigma))
    # Matérn II keeps lambda_f = (1 - exp(-s)) / (pi r^2) of a Poisson process of lambda_c = s / (pi r^2).
    area = math.pi * p.min_spacing_px ** 2
    s = -math.log1p(-min(density * area, 0.95))
    candidates = rng.poisson(s / area * math.pi * a * b)
    x, y = uniform_in_ellipse(candidates, a, b, rng)
    keep = hard_core_thinning(x, y, p.min_spacing_px, rng)
    x, y = x[keep], y[keep]
    base = rng.normal(0.0, p.base_orientation_sigma_rad)
    angle = orientation(x, y, cores, deltas, base) + np.pi * (rng.random(x.size) < 0.5)
    kind = np.where(rng.random(x.size) < p.bifurcation_fraction, 2, 1).astype(np.uint8)
    reliability = rng.beta(*p.reliability_beta, size=x.size)
    return MasterMinutiae(x, y, angle, kind, reliability, (a, b), cores, deltas, finger_class)


def distort(x: F64, y: F64, centre: F64, rotation_rad: float, shift: F64, p: Any) -> tuple[F64, F64]:
    """Skin distortion of Cappelli, Maio & Maltoni (2001), eqs. 1-3.

    Inside the close-contact circle of radius ``p.contact_radius_px`` around ``centre`` the
    skin does not move; outside, it follows a rigid motion (``rotation_rad``, ``shift``)
    more and more: ``v' = v + (T(v) - v) * brake(d)``, ``brake(d) = 1 - exp(-d^2 / (2 k^2))``
    with ``d`` the distance beyond the circle and ``k = p.distortion_brake_px``.
    """
    dx, dy = x - centre[0], y - centre[1]
    beyond = np.maximum(np.hypot(dx, dy) - p.contact_radius_px, 0.0)
    brake = 1.0 - np.exp(-beyond ** 2 / (2.0 * p.distortion_brake_px ** 2))
    cos, sin = math.cos(rotation_rad), math.sin(rotation_rad)
    tx = cos * dx + sin * dy + shift[0] - dx
    ty = -sin * dx + cos * dy + shift[1] - dy
    return x + brake * tx, y + brake * ty


def sample_impression(master: MasterMinutiae, rng: np.random.Generator, p: Any) -> tuple[F64, F64, F64, Any, Any]:
    """One capture of ``master``: contact region, distortion, misses, spurious minutiae, pose, noise.

    Returns ``x, y`` (float, canvas pixels, possibly outside the canvas), ``angle``, ``kind``
    and ``quality`` (0-100) before the canvas crop.
    """
    a, b = master.semi_axes
    # How hard this capture is: one log-normal factor scales misses, spurious minutiae, distortion
    # and jitter (real captures range from crisp to smudged); some placements are far off-centre.
    noise = math.exp(rng.normal(0.0, p.capture_noise_log_sigma))
    offset_sigma = p.contact_offset_sigma_px * (p.off_centre_factor if rng.random() < p.off_centre_probability
                                                else 1.0)
    centre = rng.normal(0.0, offset_sigma, size=2)
    ca, cb = a * rng.uniform(*p.contact_fraction), b * rng.uniform(*p.contact_fraction)
    depth = 1.0 - ((master.x - centre[0]) / ca) ** 2 - ((master.y - centre[1]) / cb) ** 2
    inside = depth > 0.0
    # Misses: everywhere, more for unreliable minutiae and near the contact border.
    miss = noise * (p.miss_probability + p.miss_reliability_weight * (1.0 - master.reliability)) \
        + p.miss_border_weight * np.exp(-depth / p.border_depth)
    keep = inside & (rng.random(master.x.size) >= miss)
    x, y, angle = master.x[keep], master.y[keep], master.angle[keep]
    kind, reliability, depth = master.kind[keep].copy(), master.reliability[keep], depth[keep]
    # Spurious minutiae, uniform in the contact region, roughly along the ridges.
    extra = rng.poisson(noise * p.spurious_fraction * x.size)
    sx, sy = uniform_in_ellipse(extra, ca, cb, rng)
    sx, sy = sx + centre[0], sy + centre[1]
    s_angle = orientation(sx, sy, master.cores, master.deltas, 0.0) + np.pi * (rng.random(extra) < 0.5) \
        + rng.normal(0.0, p.spurious_angle_sigma_rad, extra)
    s_depth = 1.0 - ((sx - centre[0]) / ca) ** 2 - ((sy - centre[1]) / cb) ** 2
    cat = np.concatenate  # np.r_ costs more than the arithmetic at these sizes
    x, y, angle = cat((x, sx)), cat((y, sy)), cat((angle, s_angle))
    kind = cat((kind, rng.integers(1, 3, extra).astype(np.uint8)))
    flip = rng.random(kind.size) < p.kind_flip_probability
    kind[flip] = 3 - kind[flip]
    reliability = cat((reliability, rng.beta(*p.spurious_reliability_beta, size=extra)))
    depth = cat((depth, s_depth))
    # Non-linear distortion (directions follow the displaced ridge: map a point 4 px ahead too).
    rotation = rng.normal(0.0, noise * p.distortion_rotation_sigma_rad)
    shift = rng.normal(0.0, noise * p.distortion_shift_sigma_px, size=2)
    ahead_x, ahead_y = x + 4.0 * np.cos(angle), y - 4.0 * np.sin(angle)
    x, y = distort(x, y, centre, rotation, shift, p)
    ahead_x, ahead_y = distort(ahead_x, ahead_y, centre, rotation, shift, p)
    angle = np.arctan2(-(ahead_y - y), ahead_x - x)
    # Pose: rotation about the contact centre, which lands near the canvas centre.
    theta = min(max(rng.normal(0.0, p.rotation_sigma_rad), -p.rotation_max_rad), p.rotation_max_rad)
    cos, sin = math.cos(theta), math.sin(theta)
    dx, dy = x - centre[0], y - centre[1]
    place = np.array([p.canvas_width_px, p.canvas_height_px]) / 2.0 \
        + rng.normal(0.0, p.translation_sigma_px, size=2)
    n = x.size
    x = place[0] + cos * dx + sin * dy + rng.normal(0.0, noise * p.position_jitter_px, n)
    y = place[1] - sin * dx + cos * dy + rng.normal(0.0, noise * p.position_jitter_px, n)
    angle = angle + theta + rng.normal(0.0, noise * p.angle_jitter_rad, n)
    border = np.minimum(np.maximum(depth / p.border_depth, 0.0), 1.0)
    quality = np.minimum(np.maximum(np.rint(100.0 * reliability * border + rng.normal(0.0, 5.0, n)), 0), 100)
    return x, y, angle, kind, quality.astype(np.uint8)
