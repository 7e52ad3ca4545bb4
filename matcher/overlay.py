"""Draw a template's minutiae over its fingerprint image, for people to look at.

Each minutia is a circle with a tick along its direction, coloured by kind; the
foreground mask's outline can be added. Drawing uses :mod:`skimage.draw` and clips at the
image border, so minutiae near the edge are drawn in part rather than wrapped or refused.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from skimage.draw import circle_perimeter, line_aa
from skimage.segmentation import find_boundaries

from matcher.errors import InvalidParameterError
from matcher.image import FingerprintImage
from matcher.template import MinutiaKind, Template

__all__ = ["draw_overlay", "KIND_COLOURS", "MASK_COLOUR"]

#: RGB colour of each minutia kind.
KIND_COLOURS: dict[int, tuple[int, int, int]] = {
    MinutiaKind.ENDING: (255, 0, 0),
    MinutiaKind.BIFURCATION: (0, 255, 0),
    MinutiaKind.OTHER: (0, 0, 255),
}
#: RGB colour of the mask outline.
MASK_COLOUR = (0, 255, 255)
#: Circle radius and direction tick length, in pixels of the template (about one ridge period
#: and a half at 500 dpi).
CIRCLE_RADIUS_PX = 5
TICK_LENGTH_PX = 14
#: Minutiae of at least this quality get a two-pixel-wide circle.
STRONG_QUALITY = 60


def draw_overlay(image: FingerprintImage | npt.NDArray[np.uint8], template: Template, *,
                 mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.uint8]:
    """The grey image in colour with the template's minutiae (and mask outline) drawn on it.

    Parameters
    ----------
    image : FingerprintImage or ndarray of uint8, shape (H, W)
        The pixels the template was extracted from, at the template's resolution: a
        :class:`~matcher.image.FingerprintImage` is resampled to ``template.dpi`` here; an
        array must already be at it (``load_image(path).at_dpi(500)`` for
        :func:`matcher.features.extract`), so ``(H, W) == (template.height, template.width)``.
    template : Template
        Minutiae to draw: a circle at ``(x, y)``, a tick of :data:`TICK_LENGTH_PX` towards
        ``(x + L cos(angle), y - L sin(angle))`` (angles are counter-clockwise as viewed, ``y``
        down), coloured by kind (:data:`KIND_COLOURS`: ending red, bifurcation green, other
        blue); minutiae of quality >= :data:`STRONG_QUALITY` get a thicker circle.
    mask : ndarray of bool, shape (H, W), optional
        Foreground; its outline is drawn in cyan (:data:`MASK_COLOUR`) under the minutiae.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        A new RGB image.

    Raises
    ------
    InvalidParameterError
        If ``image`` is not a 2-D ``uint8`` array or a FingerprintImage, ``template`` is not a
        Template, or the image, template and mask sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from matcher.template import Template
    >>> grey = np.full((64, 64), 128, np.uint8)
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> rgb = draw_overlay(grey, t)
    >>> rgb.shape, rgb.dtype, rgb[20, 10].tolist(), rgb[20, 10 + 10].tolist()
    ((64, 64, 3), dtype('uint8'), [255, 0, 0], [255, 0, 0])
    """
    if not isinstance(template, Template):
        raise InvalidParameterError(f"template must be a Template, got {type(template).__name__}")
    pixels = _grey(image, template)
    height, width = pixels.shape
    if (height, width) != (template.height, template.width):
        raise InvalidParameterError(
            f"image is {width}x{height} px but the template is {template.width}x{template.height} px; "
            f"pass the pixels at the template's {template.dpi} dpi (FingerprintImage.at_dpi)")
    rgb = np.repeat(pixels[:, :, np.newaxis], 3, axis=2)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != pixels.shape or mask.dtype != np.bool_:
            raise InvalidParameterError(f"mask must be bool of shape {pixels.shape}, got {mask.dtype} "
                                        f"of shape {mask.shape}")
        rgb[find_boundaries(mask, mode="inner")] = MASK_COLOUR
    for x, y, angle, kind, quality in zip(template.x.tolist(), template.y.tolist(),
                                          template.angle.tolist(), template.kind.tolist(),
                                          template.quality.tolist(), strict=True):
        colour = np.array(KIND_COLOURS.get(kind, KIND_COLOURS[MinutiaKind.OTHER]), dtype=np.float64)
        radii = (CIRCLE_RADIUS_PX, CIRCLE_RADIUS_PX + 1) if quality >= STRONG_QUALITY else (CIRCLE_RADIUS_PX,)
        for radius in radii:
            rows, cols = circle_perimeter(y, x, radius, shape=pixels.shape)
            rgb[rows, cols] = colour
        end_col = round(x + TICK_LENGTH_PX * np.cos(angle))
        end_row = round(y - TICK_LENGTH_PX * np.sin(angle))
        rows, cols, weight = line_aa(y, x, end_row, end_col)
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        rows, cols, weight = rows[inside], cols[inside], weight[inside, np.newaxis]
        blended = weight * colour + (1.0 - weight) * rgb[rows, cols]
        rgb[rows, cols] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return rgb


def _grey(image: FingerprintImage | npt.NDArray[np.uint8], template: Template) -> npt.NDArray[np.uint8]:
    if isinstance(image, FingerprintImage):
        return image.at_dpi(template.dpi)
    if not isinstance(image, np.ndarray) or image.ndim != 2 or image.dtype != np.uint8:
        described = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                     else type(image).__name__)
        raise InvalidParameterError(f"image must be a FingerprintImage or a 2-D uint8 array, got {described}")
    return image
