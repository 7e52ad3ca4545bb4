"""Minutiae extraction: ``extract(image) -> Template``.

The pipeline is a straight list of steps, one module each (SourceAFIS style); every
intermediate can be captured with :mod:`matcher.transparency`.
"""

from __future__ import annotations

import numpy as np

from matcher import transparency
from matcher.features import _kernels
from matcher.features.binarization import binarize, thin
from matcher.features.enhancement import enhance
from matcher.features.filtering import remove_false
from matcher.features.frequency import frequency_map
from matcher.features.minutiae import detect
from matcher.features.normalization import normalize
from matcher.features.orientation import orientation_field
from matcher.features.quality import image_quality, minutia_quality
from matcher.features.segmentation import segment
from matcher.image import FingerprintImage, load_image
from matcher.params import WORKING_DPI, ExtractionParams
from matcher.template import Template

__all__ = ["extract"]

_DEFAULT_PARAMS = ExtractionParams()


def extract(image: FingerprintImage | np.ndarray | bytes | str, *, dpi: int | None = None,
            params: ExtractionParams | None = None) -> Template:
    """Extract the minutiae template of a fingerprint image.

    Parameters
    ----------
    image : FingerprintImage, ndarray, bytes or path
        Anything :func:`matcher.load_image` accepts (TIFF, PNG, BMP, JPEG, JPEG 2000, WSQ,
        or a grey/colour array).
    dpi : int, optional
        Resolution when the source carries none (default 500); overrides file metadata.
    params : ExtractionParams, optional
        Tunables; the defaults are what the benchmarks report.

    Returns
    -------
    Template
        Minutiae at the 500 dpi working resolution (``dpi=500``, ``width``/``height`` of the
        resampled image), at most ``params.minutiae.max_count``, best quality first, with the
        image quality score. A blank capture gives an empty template, not an error.

    Raises
    ------
    InvalidImageError
        The image cannot be decoded, or its size or resolution is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from matcher import extract
    >>> rows, cols = np.mgrid[0:200, 0:200]
    >>> stripes = (127 + 100 * np.sin(2 * np.pi * cols / 9)).astype(np.uint8)
    >>> t = extract(stripes, dpi=500)
    >>> t.width, t.height, t.dpi
    (200, 200, 500)
    """
    params = _DEFAULT_PARAMS if params is None else params
    loaded = load_image(image, dpi=dpi)
    return extract_pixels(loaded.at_dpi(WORKING_DPI), params)


#: The pipeline after segmentation runs on the mask's bounding box plus this margin, aligned
#: to the coarse grids (16 px), so results do not depend on how much background surrounds
#: the print and no time is spent on it.
_CROP_MARGIN_PX = 48
_CROP_ALIGN_PX = 16


def _crop_box(mask: np.ndarray) -> tuple[slice, slice]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0 = max(rows[0] - _CROP_MARGIN_PX, 0) // _CROP_ALIGN_PX * _CROP_ALIGN_PX
    c0 = max(cols[0] - _CROP_MARGIN_PX, 0) // _CROP_ALIGN_PX * _CROP_ALIGN_PX
    return (slice(r0, min(rows[-1] + _CROP_MARGIN_PX + 1, mask.shape[0])),
            slice(c0, min(cols[-1] + _CROP_MARGIN_PX + 1, mask.shape[1])))


def extract_pixels(pixels: np.ndarray, params: ExtractionParams) -> Template:
    """The pipeline on uint8 pixels already at the working resolution."""
    height, width = pixels.shape
    transparency.emit("image", pixels)
    full_mask = segment(pixels, params.segmentation)
    transparency.emit("mask", full_mask)
    if not full_mask.any():
        return Template.empty(width=width, height=height, dpi=WORKING_DPI)
    box = _crop_box(full_mask)
    origin = np.array([box[0].start, box[1].start])

    def emit(key: str, value: np.ndarray) -> None:
        if transparency.enabled(key):   # intermediates are reported at full image size
            full = np.zeros((height, width), dtype=value.dtype)
            full[box] = value
            transparency.emit(key, full)

    pixels = np.ascontiguousarray(pixels[box])
    mask = np.ascontiguousarray(full_mask[box])
    normalized = normalize(pixels, mask)
    emit("normalized", normalized)
    orientation, coherence = orientation_field(normalized, mask, params.orientation)
    emit("orientation", orientation)
    emit("coherence", coherence)
    frequency, valid_frequency = frequency_map(normalized, mask, orientation, params.frequency)
    emit("frequency", frequency)
    enhanced = enhance(normalized, mask, orientation, frequency, params.enhancement, params.frequency)
    emit("enhanced", enhanced)
    ridges = binarize(enhanced, mask)
    emit("binary", ridges)
    skeleton = thin(ridges)
    emit("skeleton", skeleton)
    cn = _kernels.crossing_numbers(skeleton)
    found = detect(skeleton, cn, mask, orientation, params.minutiae)
    transparency.emit("minutiae_raw", found.as_records(origin))
    kept, border_distance = remove_false(found, mask, params.minutiae)
    kept.quality = minutia_quality(kept, border_distance, coherence, params.minutiae)
    transparency.emit("minutiae_filtered", kept.as_records(origin))
    kept = kept.select(kept.quality >= params.minutiae.min_quality)
    # best first; ties broken by position so the order (and the bytes) are deterministic
    order = np.lexsort((kept.col, kept.row, -np.round(kept.quality)))[: params.minutiae.max_count]
    best = kept.select(order)
    quality = np.round(best.quality).astype(np.uint8)
    # array frame (d_col, d_row) -> template angle counter-clockwise as viewed (y down)
    angle = np.mod(-best.direction, 2.0 * np.pi)
    return Template(x=best.col + origin[1], y=best.row + origin[0], angle=angle, kind=best.kind, quality=quality,
                    width=width, height=height, dpi=WORKING_DPI,
                    image_quality=image_quality(mask, coherence, valid_frequency, quality))
