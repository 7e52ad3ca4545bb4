"""Synthetic fingerprint images: master prints and their rendered impressions (SFinGe-style).

A *master* is one artificial finger (class, area, singular points, orientation and frequency
maps, ridge pattern); each *impression* is an 8-bit 500 dpi image of it as a sensor would
capture it (Cappelli, Maio & Maltoni, ICPR 2000; *Handbook of Fingerprint Recognition* ch. 6).
Everything is deterministic per ``(seed, finger)`` and ``(seed, finger, impression)``, whatever
the process or thread that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from datasets.synthetic import _kernels
from datasets.synthetic.impressions import (
    ImpressionParams,
    contact_mask,
    press,
    smooth_noise,
    source_coordinates,
)
from datasets.synthetic.orientation import (
    CLASSES,
    FingerprintArea,
    SingularPoints,
    draw_area,
    draw_class,
    draw_singular_points,
    orientation_field,
)
from datasets.synthetic.ridges import GrowthParams, frequency_map, grow_ridges

__all__ = ["DEFAULT_SHAPE", "Master", "make_master", "render_impression", "finger_images"]

#: Default image size ``(height, width)`` in pixels at 500 dpi.
DEFAULT_SHAPE: tuple[int, int] = (500, 400)


@dataclass(frozen=True)
class Master:
    """One artificial finger.

    Attributes
    ----------
    kind : str
        Its class, one of :data:`~datasets.synthetic.orientation.CLASSES`.
    area : FingerprintArea
    points : SingularPoints
    orientation, frequency : ndarray of float32, shape (H, W)
        Ridge orientation (rad, ``[0, pi)``) and frequency (px^-1).
    pattern : ndarray of float32, shape (H, W)
        Ridge pattern in ``[-1, 1]``, ridges positive.
    """

    kind: str
    area: FingerprintArea
    points: SingularPoints
    orientation: npt.NDArray[np.float32]
    frequency: npt.NDArray[np.float32]
    pattern: npt.NDArray[np.float32]


def make_master(rng: np.random.Generator, *, shape: tuple[int, int] = DEFAULT_SHAPE, kind: str | None = None,
                growth: GrowthParams | None = None) -> Master:
    """A random master fingerprint (handbook §6.4).

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : (int, int)
        ``(height, width)`` in pixels, at least 64 each.
    kind : str, optional
        Force a class; drawn with the natural class frequencies by default.
    growth : GrowthParams, optional
        Ridge growth tunables (defaults when ``None``).

    Raises
    ------
    ValueError
        If ``shape`` is smaller than 64 x 64 or ``kind`` is not a class.

    Examples
    --------
    >>> master = make_master(np.random.default_rng(0), shape=(96, 80), kind="whorl")
    >>> master.kind, master.pattern.shape, len(master.points.cores)
    ('whorl', (96, 80), 2)
    """
    if len(shape) != 2 or min(shape) < 64:
        raise ValueError(f"shape must be (height, width) of at least 64 px each, got {shape}")
    if kind is not None and kind not in CLASSES:
        raise ValueError(f"kind must be one of {CLASSES}, got {kind!r}")
    kind = draw_class(rng) if kind is None else kind
    area = draw_area(shape, rng)
    scale = min(shape[0] / DEFAULT_SHAPE[0], shape[1] / DEFAULT_SHAPE[1])
    points = draw_singular_points(kind, area, rng)
    points = SingularPoints(*(_scaled(p, area, scale) for p in (points.cores, points.deltas)))
    orientation = orientation_field(shape, points, base_rad=rng.normal(0.0, 0.08),
                                    arch_center=(area.center_row - 40 * scale, area.center_col),
                                    arch_height_px=rng.uniform(90, 170) * scale)
    frequency = frequency_map(shape, points, rng)
    region = _kernels.dilate_box(area.mask(shape), 4)
    pattern = grow_ridges(orientation, frequency, region, rng, growth or GrowthParams())
    return Master(kind, area, points, orientation, frequency, pattern)


def _scaled(points: npt.NDArray[np.float64], area: FingerprintArea, scale: float) -> npt.NDArray[np.float64]:
    """Singular points moved towards the area centre when the image is smaller than the default."""
    centre = np.array([area.center_row, area.center_col])
    return centre + (points - centre) * scale if len(points) else points


def render_impression(master: Master, rng: np.random.Generator,
                      params: ImpressionParams | None = None) -> npt.NDArray[np.uint8]:
    """One 8-bit impression ``(H, W)`` of ``master``: dark ridges on a light background.

    Examples
    --------
    >>> master = make_master(np.random.default_rng(0), shape=(96, 80))
    >>> image = render_impression(master, np.random.default_rng(1))
    >>> image.shape, image.dtype
    ((96, 80), dtype('uint8'))
    """
    params = params or ImpressionParams()
    shape = master.pattern.shape
    ink = press(master.pattern, rng, params) * contact_mask(shape, master.area, rng, params)
    rows, cols = source_coordinates(shape, master.area, rng, params)
    ink = _kernels.remap(ink, rows, cols, np.float32(0.0))
    h, w = shape
    # paper/platen background: a bright level, slow shading and fine texture (handbook §6.5.5)
    shading = smooth_noise(shape, 64, rng)
    background = rng.uniform(205, 245) + 15.0 * (shading - 0.5)
    background += ndi.gaussian_filter(rng.standard_normal(shape), 1.5) * rng.uniform(2.0, 6.0)
    depth = rng.uniform(130, 190)
    image = ndi.gaussian_filter(background - depth * ink, rng.uniform(0.5, 0.9))
    image += rng.normal(0.0, rng.uniform(*params.sensor_noise), size=shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def finger_images(seed: int, finger: int, impressions: int, *, shape: tuple[int, int] = DEFAULT_SHAPE,
                  params: ImpressionParams | None = None,
                  growth: GrowthParams | None = None) -> tuple[str, list[npt.NDArray[np.uint8]]]:
    """The class and ``impressions`` images of finger ``finger`` (from 1) of the set ``seed``.

    Examples
    --------
    >>> kind, images = finger_images(7, 1, 2, shape=(80, 72))
    >>> kind in CLASSES, len(images), images[0].shape
    (True, 2, (80, 72))
    """
    master = make_master(np.random.default_rng([seed, finger]), shape=shape, growth=growth)
    return master.kind, [render_impression(master, np.random.default_rng([seed, finger, k]), params)
                         for k in range(1, impressions + 1)]
