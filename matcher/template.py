"""The minutiae template: an immutable structure of arrays.

Coordinates follow the convention written once here: image arrays are indexed
``(row, col)``; a minutia stores ``x = col`` and ``y = row`` in pixels of the template's
resolution, origin at the top-left corner. ``angle`` is the minutia direction in radians in
``[0, 2*pi)``, measured counter-clockwise from the +x axis *as the image is viewed* (so with
``y`` growing downwards, a direction ``(dx, dy)`` in array terms has angle
``atan2(-dy, dx)``), the convention of ISO/IEC 19794-2 and ANSI/INCITS 378.

For a ridge ending the direction points from the end point back along the ridge it
terminates; for a bifurcation it points from the fork point into the gap between the two
branches. The two coincide under ridge/valley inversion (an ending of a ridge is a
bifurcation of the valley), which keeps scores stable when a capture's contrast flips a type.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.errors import InvalidTemplateError
from matcher.params import MAX_DPI, MIN_DPI

__all__ = ["MinutiaKind", "FingerPosition", "Template", "FingerView", "MAX_MINUTIAE"]

#: Hard upper bound on minutiae in one template (ISO/ANSI count fields are one byte).
MAX_MINUTIAE = 255
#: Largest coordinate/size representable in ISO/ANSI (14-bit fields) and in our int16 arrays.
MAX_COORDINATE_PX = 16383
TWO_PI = 2.0 * math.pi


class MinutiaKind(enum.IntEnum):
    """Minutia type; values are the ISO/IEC 19794-2 two-bit type codes."""

    OTHER = 0
    ENDING = 1
    BIFURCATION = 2


class FingerPosition(enum.IntEnum):
    """Finger position codes of ISO/IEC 19794-2 and ANSI/INCITS 378 (table "finger position")."""

    UNKNOWN = 0
    RIGHT_THUMB = 1
    RIGHT_INDEX = 2
    RIGHT_MIDDLE = 3
    RIGHT_RING = 4
    RIGHT_LITTLE = 5
    LEFT_THUMB = 6
    LEFT_INDEX = 7
    LEFT_MIDDLE = 8
    LEFT_RING = 9
    LEFT_LITTLE = 10


def _frozen(values: Any, dtype: npt.DTypeLike, name: str) -> np.ndarray:
    try:
        array = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidTemplateError(f"{name} cannot be converted to {np.dtype(dtype)}: {exc}") from None
    if array.ndim != 1:
        raise InvalidTemplateError(f"{name} must be one-dimensional, got shape {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Template:
    """Minutiae of one finger view, immutable.

    Parameters
    ----------
    x, y : array_like of int, shape (n,)
        Position in pixels (``x`` = column, ``y`` = row), ``0 <= x < width``, ``0 <= y < height``.
    angle : array_like of float, shape (n,)
        Direction in radians, wrapped into ``[0, 2*pi)``.
    kind : array_like of int, shape (n,)
        :class:`MinutiaKind` codes.
    quality : array_like of int, shape (n,)
        Per-minutia reliability 0-100 (100 = certain).
    width, height : int
        Size in pixels of the image the minutiae were found in.
    dpi : int
        Resolution of ``x``/``y`` (250-1000; 500 for templates made by :func:`matcher.extract`).
    image_quality : int
        Image quality score 0-100 (see ``docs/QUALITY.md``); 0 when unknown.

    Raises
    ------
    InvalidTemplateError
        When an invariant does not hold (see :meth:`validate`).

    Examples
    --------
    >>> t = Template(x=[10, 20], y=[30, 40], angle=[0.0, 3.0], kind=[1, 2],
    ...              quality=[80, 60], width=100, height=120, dpi=500)
    >>> len(t), t.nbytes() > 0
    (2, True)
    """

    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    kind: np.ndarray
    quality: np.ndarray
    width: int
    height: int
    dpi: int = 500
    image_quality: int = 0
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("x", "y"):
            _check_coordinates(getattr(self, name), name)
            set_(self, name, _frozen(getattr(self, name), np.int16, name))
        angle = _frozen(self.angle, np.float32, "angle")
        if angle.size and not np.all(np.isfinite(angle)):
            raise InvalidTemplateError("angle must be finite")
        wrapped = np.mod(angle.astype(np.float64), TWO_PI).astype(np.float32)
        wrapped[wrapped >= np.float32(TWO_PI)] = 0.0  # float32 rounding of values just below 2*pi
        wrapped.flags.writeable = False
        set_(self, "angle", wrapped)
        set_(self, "kind", _frozen(_checked_range(self.kind, 0, 2, "kind"), np.uint8, "kind"))
        set_(self, "quality", _frozen(_checked_range(self.quality, 0, 100, "quality"), np.uint8, "quality"))
        for name in ("width", "height", "dpi", "image_quality"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidTemplateError(f"{name} must be an integer, got {value!r}")
            set_(self, name, int(value))
        self.validate()

    def validate(self) -> None:
        """Check every invariant; raise :class:`InvalidTemplateError` naming the first broken one."""
        n = self.x.shape[0]
        for name in ("y", "angle", "kind", "quality"):
            if getattr(self, name).shape != (n,):
                raise InvalidTemplateError(
                    f"{name} has {getattr(self, name).shape[0]} entries, x has {n}")
        if n > MAX_MINUTIAE:
            raise InvalidTemplateError(f"too many minutiae: {n} > {MAX_MINUTIAE}")
        if not 1 <= self.width <= MAX_COORDINATE_PX or not 1 <= self.height <= MAX_COORDINATE_PX:
            raise InvalidTemplateError(
                f"width, height must be in 1..{MAX_COORDINATE_PX}, got {self.width}x{self.height}")
        if not MIN_DPI <= self.dpi <= MAX_DPI:
            raise InvalidTemplateError(f"dpi must be in {MIN_DPI}..{MAX_DPI}, got {self.dpi}")
        if not 0 <= self.image_quality <= 100:
            raise InvalidTemplateError(f"image_quality must be in 0..100, got {self.image_quality}")
        if n:
            if self.x.min() < 0 or self.x.max() >= self.width:
                raise InvalidTemplateError(f"x must be in 0..{self.width - 1}, got {self.x.min()}..{self.x.max()}")
            if self.y.min() < 0 or self.y.max() >= self.height:
                raise InvalidTemplateError(f"y must be in 0..{self.height - 1}, got {self.y.min()}..{self.y.max()}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def nbytes(self) -> int:
        """Bytes held by the minutiae arrays (the in-memory cost of the template's payload)."""
        return int(sum(a.nbytes for a in (self.x, self.y, self.angle, self.kind, self.quality)))

    def _key(self) -> tuple[Any, ...]:
        return (self.width, self.height, self.dpi, self.image_quality, self.x.tobytes(),
                self.y.tobytes(), self.angle.tobytes(), self.kind.tobytes(), self.quality.tobytes())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        if not self._hash:
            object.__setattr__(self, "_hash", hash(self._key()) or 1)
        return self._hash

    def __getstate__(self) -> dict[str, Any]:
        # Caches derived from the minutiae (the matcher's search forms, see
        # matcher.matching._native) live as private attributes; they are rebuilt, never stored.
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_cache_")}

    @classmethod
    def _trusted(cls, x: np.ndarray, y: np.ndarray, angle: np.ndarray, kind: np.ndarray, quality: np.ndarray, *,
                 width: int, height: int, dpi: int, image_quality: int) -> Template:
        """A template of arrays that already hold every invariant, in the stored dtypes (int16,
        float32 wrapped into [0, 2 pi), uint8): copied and frozen, not checked again.

        For the library's own stores whose columns were checked once as a whole (a loaded
        gallery file, :mod:`matcher.index.store_check`); checking each template again would cost
        more than scoring it.
        """
        template = object.__new__(cls)
        set_ = object.__setattr__
        for name, values, dtype in (("x", x, np.int16), ("y", y, np.int16), ("angle", angle, np.float32),
                                    ("kind", kind, np.uint8), ("quality", quality, np.uint8)):
            array = np.array(values, dtype=dtype, copy=True)
            array.flags.writeable = False
            set_(template, name, array)
        for name, value in (("width", width), ("height", height), ("dpi", dpi), ("image_quality", image_quality)):
            set_(template, name, int(value))
        set_(template, "_hash", 0)
        return template

    @classmethod
    def empty(cls, *, width: int, height: int, dpi: int = 500, image_quality: int = 0) -> Template:
        """A template with no minutiae (a valid result for a blank or unusable capture)."""
        return cls(x=[], y=[], angle=[], kind=[], quality=[], width=width, height=height,
                   dpi=dpi, image_quality=image_quality)

    def take(self, index: npt.ArrayLike) -> Template:
        """A new template with the minutiae selected by ``index`` (integer or boolean array)."""
        return Template(x=self.x[index], y=self.y[index], angle=self.angle[index],
                        kind=self.kind[index], quality=self.quality[index], width=self.width,
                        height=self.height, dpi=self.dpi, image_quality=self.image_quality)


def _check_coordinates(values: Any, name: str) -> None:
    array = np.asarray(values)
    if array.size == 0:
        return
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InvalidTemplateError(f"{name} must be numeric, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise InvalidTemplateError(f"{name} must be finite")
    if array.min() < 0 or array.max() > MAX_COORDINATE_PX:
        raise InvalidTemplateError(f"{name} must be in 0..{MAX_COORDINATE_PX}, got {array.min()}..{array.max()}")


def _checked_range(values: Any, low: int, high: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise InvalidTemplateError(f"{name} must be integers, got dtype {array.dtype}")
    if array.min() < low or array.max() > high:
        raise InvalidTemplateError(f"{name} must be in {low}..{high}, got {array.min()}..{array.max()}")
    return array


@dataclass(frozen=True)
class FingerView:
    """One finger view of an interchange record: a template plus where it came from.

    Parameters
    ----------
    template : Template
    position : FingerPosition
        ISO/ANSI finger position code (``UNKNOWN`` = 0 when not known).
    view_number : int
        0-15, distinguishes several views of the same finger in one record.
    impression_type : int
        0-15, ISO/ANSI impression type (0 = live-scan plain, 1 = live-scan rolled, ...).
    finger_quality : int
        0-100, the record's finger quality (defaults to the template's image quality).
    """

    template: Template
    position: FingerPosition = FingerPosition.UNKNOWN
    view_number: int = 0
    impression_type: int = 0
    finger_quality: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.template, Template):
            raise InvalidTemplateError(f"template must be a Template, got {type(self.template).__name__}")
        try:
            object.__setattr__(self, "position", FingerPosition(self.position))
        except ValueError:
            raise InvalidTemplateError(f"position must be a finger position code 0..10, got {self.position!r}") from None
        for name, high in (("view_number", 15), ("impression_type", 15)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not 0 <= value <= high:
                raise InvalidTemplateError(f"{name} must be in 0..{high}, got {value!r}")
        quality = self.template.image_quality if self.finger_quality is None else self.finger_quality
        if not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 100:
            raise InvalidTemplateError(f"finger_quality must be in 0..100, got {quality!r}")
        object.__setattr__(self, "finger_quality", int(quality))
