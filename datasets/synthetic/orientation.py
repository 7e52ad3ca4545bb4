"""Fingerprint area, pattern class, singular points and orientation field of a master print.

Follows SFinGe (Cappelli, Maio & Maltoni, "Synthetic fingerprint-image generation", ICPR 2000;
Maltoni et al., *Handbook of Fingerprint Recognition*, 2nd ed., §6.4-6.5):

* the **fingerprint area** is a rectangle closed above and below by four elliptical quarters
  (handbook §6.4.1, parameters ``a1, a2, b1, b2, c``);
* the **class** is drawn with the natural frequencies that SFinGe uses (arch 3.7%, tented arch
  2.9%, left loop 33.8%, right loop 31.7%, whorl 27.9%), and fixes how many cores and deltas
  there are and where (handbook §6.4.2);
* the **orientation field** is the Sherlock & Monro zero-pole model (Pattern Recognition 26(7),
  1993): ``O(z) = O_inf + 1/2 [sum_c arg(z - z_c) - sum_d arg(z - z_d)]`` with ``z`` the
  point in the complex plane (``x`` right, ``y`` up). Arches have no singular point; their
  field is the slope of bump-shaped ridges ``y = y0 + h(y0) exp(-x^2 / 2 s^2)``.

Orientations follow the library's convention: an angle ``phi`` in ``[0, pi)`` whose ridge
direction is ``(d_col, d_row) = (cos phi, sin phi)``; points are ``(row, col)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["CLASSES", "CLASS_FREQUENCIES", "FingerprintArea", "SingularPoints", "draw_area",
           "draw_class", "draw_singular_points", "orientation_field"]

#: The five Henry classes, in SFinGe's order.
CLASSES: tuple[str, ...] = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
#: Natural class frequencies used by SFinGe (its "natural distribution" option).
CLASS_FREQUENCIES: tuple[float, ...] = (0.037, 0.029, 0.338, 0.317, 0.279)


@dataclass(frozen=True)
class FingerprintArea:
    """Silhouette of the finger pad: a ``c``-tall rectangle spanning ``a1`` left and ``a2``
    right of the centre, closed by elliptical quarters of heights ``b1`` (top) and ``b2``
    (bottom). Lengths in pixels, centre ``(row, col)``."""

    center_row: float
    center_col: float
    a1: float
    a2: float
    b1: float
    b2: float
    c: float

    def mask(self, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """Boolean ``(H, W)`` map of the pixels inside the area."""
        rows, cols = np.ogrid[0:shape[0], 0:shape[1]]
        dr = rows - self.center_row
        dc = cols - self.center_col
        half_width = np.where(dc < 0, self.a1, self.a2)
        top = dr < -self.c / 2
        bottom = dr > self.c / 2
        vertical = np.where(top, -self.c / 2 - dr, np.where(bottom, dr - self.c / 2, 0.0))
        height = np.where(top, self.b1, self.b2)
        return (dc / half_width) ** 2 + (vertical / height) ** 2 <= 1.0


@dataclass(frozen=True)
class SingularPoints:
    """Cores and deltas, float arrays of shape ``(n, 2)`` as ``(row, col)``."""

    cores: npt.NDArray[np.float64]
    deltas: npt.NDArray[np.float64]


def draw_class(rng: np.random.Generator) -> str:
    """A class name drawn with :data:`CLASS_FREQUENCIES`.

    Examples
    --------
    >>> draw_class(np.random.default_rng(0)) in CLASSES
    True
    """
    return CLASSES[int(rng.choice(len(CLASSES), p=np.asarray(CLASS_FREQUENCIES)))]


def draw_area(shape: tuple[int, int], rng: np.random.Generator) -> FingerprintArea:
    """A random fingerprint area roughly filling an ``(H, W)`` image (at 500 dpi)."""
    h, w = shape
    return FingerprintArea(center_row=h * rng.uniform(0.48, 0.56), center_col=w * rng.uniform(0.47, 0.53),
                           a1=w * rng.uniform(0.44, 0.54), a2=w * rng.uniform(0.44, 0.54),
                           b1=h * rng.uniform(0.28, 0.36), b2=h * rng.uniform(0.24, 0.32),
                           c=h * rng.uniform(0.26, 0.38))


def draw_singular_points(kind: str, area: FingerprintArea, rng: np.random.Generator) -> SingularPoints:
    """Cores and deltas of a class, placed relative to the area centre (handbook §6.4.2).

    Parameters
    ----------
    kind : str
        One of :data:`CLASSES`.
    area : FingerprintArea
    rng : numpy.random.Generator

    Raises
    ------
    ValueError
        If ``kind`` is not a class name.

    Examples
    --------
    >>> area = FingerprintArea(250, 200, 170, 170, 150, 120, 140)
    >>> points = draw_singular_points("whorl", area, np.random.default_rng(1))
    >>> points.cores.shape, points.deltas.shape
    ((2, 2), (2, 2))
    """
    if kind not in CLASSES:
        raise ValueError(f"kind must be one of {CLASSES}, got {kind!r}")
    r0 = area.center_row + rng.uniform(-30, 20)
    c0 = area.center_col + rng.uniform(-25, 25)
    if kind == "arch":
        cores, deltas = np.empty((0, 2)), np.empty((0, 2))
    elif kind == "tented_arch":
        cores = np.array([[r0 - 20, c0]])
        deltas = np.array([[r0 - 20 + rng.uniform(70, 120), c0 + rng.uniform(-12, 12)]])
    elif kind in ("left_loop", "right_loop"):
        side = 1.0 if kind == "left_loop" else -1.0     # the delta lies opposite the loop's opening
        cores = np.array([[r0 - 30, c0 - side * rng.uniform(0, 25)]])
        deltas = np.array([[r0 - 30 + rng.uniform(100, 150), c0 + side * rng.uniform(70, 120)]])
    else:
        tilt = rng.uniform(-0.5, 0.5)
        gap = rng.uniform(10, 40)
        cores = np.array([[r0 - 25 - gap / 2 * np.cos(tilt), c0 - gap / 2 * np.sin(tilt)],
                          [r0 - 25 + gap / 2 * np.cos(tilt), c0 + gap / 2 * np.sin(tilt)]])
        depth = rng.uniform(100, 140, size=2)
        spread = rng.uniform(90, 130, size=2)
        deltas = np.array([[r0 - 25 + depth[0], c0 - spread[0]], [r0 - 25 + depth[1], c0 + spread[1]]])
    return SingularPoints(cores=cores.astype(np.float64), deltas=deltas.astype(np.float64))


def orientation_field(shape: tuple[int, int], points: SingularPoints, *, base_rad: float = 0.0,
                      arch_center: tuple[float, float] | None = None,
                      arch_height_px: float = 140.0) -> npt.NDArray[np.float32]:
    """Ridge orientation ``(H, W)`` float32 in ``[0, pi)`` (Sherlock & Monro zero-pole model).

    Parameters
    ----------
    shape : (int, int)
    points : SingularPoints
        Without cores and deltas the field is an arch centred at ``arch_center``.
    base_rad : float
        ``O_inf``, the orientation far from the singular points (0: horizontal ridges).
    arch_center : (float, float), optional
        ``(row, col)`` of the arch's summit; the image centre by default.
    arch_height_px : float
        Height of the arch's bump at its summit.

    Examples
    --------
    >>> points = SingularPoints(np.array([[40.0, 50.0]]), np.array([[90.0, 80.0]]))
    >>> field = orientation_field((128, 100), points)
    >>> field.shape, field.dtype, bool(field.min() >= 0 and field.max() < np.pi)
    ((128, 100), dtype('float32'), True)
    """
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    z = cols - 1j * rows                      # complex plane: x right, y up
    if len(points.cores) == 0 and len(points.deltas) == 0:
        cr, cc = arch_center if arch_center is not None else (h * 0.45, w / 2)
        spread = w * 0.22
        x = (cols - cc) / spread
        # bump height shrinks for ridges lower on the finger: flatter below the summit
        height = arch_height_px * np.exp(-np.clip(rows - cr, 0, None) / (0.5 * h)) * (
            0.4 + 0.6 / (1 + np.exp(-(rows - cr + 0.25 * h) / 30)))
        slope = -height * x * np.exp(-0.5 * x * x) / spread     # dy/dx with y up: a hump
        angle = base_rad + np.arctan(slope)
    else:
        angle = np.full(shape, base_rad)
        for r, c in points.cores:
            angle += 0.5 * np.angle(z - (c - 1j * r))
        for r, c in points.deltas:
            angle -= 0.5 * np.angle(z - (c - 1j * r))
    # y up -> row down flips the sign of the angle
    return np.mod(-angle, np.pi).astype(np.float32)
