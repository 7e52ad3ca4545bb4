"""NIST NBIS ``.xyt`` minutiae text files, as written by ``mindtct`` and read by ``bozorth3``.

One minutia per line, ``x y theta quality``, whitespace-separated integers. The file records
neither image size, resolution nor minutia type, so :func:`loads` takes ``width``, ``height``
and ``dpi`` and returns every minutia as :attr:`~matcher.template.MinutiaKind.OTHER`.

``mindtct`` writes one of two representations (NBIS 5.0 ``mindtct/results.c``,
``write_text_results``; the conversions are ``lfs2nist_minutia_XYT`` and
``lfs2m1_minutia_XYT`` in ``mindtct/xytreps.c``):

``"nist"`` -- the default (``mindtct`` without ``-m1``; ``bozorth3`` without ``-m1`` expects it)
    Origin at the *bottom-left*: ``y = height - row``, so rows 0..height-1 become y
    height..1. ``theta`` in integer degrees 0..359, counter-clockwise from east, pointing *out
    and away* from the ridge ending or bifurcation valley, i.e. opposite to ISO/ANSI:
    ``theta = degrees(angle) + 180 (mod 360)``.
``"m1"`` -- ``mindtct -m1`` (ANSI/INCITS 378-2004 "M1" conventions)
    Origin at the top-left: ``y = row``. ``theta`` in units of 2 degrees, 0..179 (the code
    divides degrees by two, although the comment in ``results.c`` says degrees), pointing up
    the ridge ending or bifurcation valley like :class:`~matcher.template.Template`:
    ``theta = degrees(angle) / 2``.

Quality is ``mindtct``'s minutia reliability times 100, an integer on 0..100; read values are
clamped into 0..100. As in ``bozorth3``'s ``bz_load`` (``bozorth3/bz_io.c``) a file may have
three columns instead of four, consistently; three-column minutiae get quality 0. ``bz_load``
also normalises ``theta`` above 180 to ``theta - 360``, so the ``"nist"`` reader accepts
-360..360 degrees. Writing rounds half up to the nearest unit.
"""

from __future__ import annotations

import math
import re

import numpy as np

from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.formats._binary import as_bytes
from matcher.template import MAX_COORDINATE_PX, MAX_DPI, MAX_MINUTIAE, MIN_DPI, MinutiaKind, Template

__all__ = ["REPRESENTATIONS", "dumps", "loads"]

#: Supported representations; the first is the default.
REPRESENTATIONS = ("nist", "m1")
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
_FIELD_SEPARATOR = re.compile(r"[ \t]+")


def _check_representation(representation: str) -> None:
    if representation not in REPRESENTATIONS:
        raise InvalidParameterError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")


def dumps(template: Template, *, representation: str = "nist") -> bytes:
    """Write a template as ``.xyt`` text (ASCII, one ``"x y theta quality\\n"`` line per minutia).

    Parameters
    ----------
    template : Template
    representation : {"nist", "m1"}
        ``"nist"`` (what ``mindtct`` writes and ``bozorth3`` reads by default) or ``"m1"``
        (their ``-m1`` option); see the module docstring. Minutia kinds are not stored.

    Returns
    -------
    bytes

    Raises
    ------
    InvalidParameterError
        If ``template`` is not a Template or ``representation`` is unknown.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> dumps(t)
    b'10 44 180 90\\n'
    >>> dumps(t, representation="m1")
    b'10 20 0 90\\n'
    """
    if not isinstance(template, Template):
        raise InvalidParameterError(f"template must be a Template, got {type(template).__name__}")
    _check_representation(representation)
    degrees = template.angle.astype(np.float64) * (180.0 / math.pi)
    if representation == "nist":
        y = template.height - template.y.astype(np.int64)
        theta = np.floor(degrees + 180.0 + 0.5).astype(np.int64) % 360
    else:
        y = template.y.astype(np.int64)
        theta = np.floor(degrees / 2.0 + 0.5).astype(np.int64) % 180
    rows = zip(template.x.tolist(), y.tolist(), theta.tolist(), template.quality.tolist(), strict=True)
    return "".join(f"{x} {y} {t} {q}\n" for x, y, t, q in rows).encode("ascii")


def loads(data: bytes, *, width: int, height: int, dpi: int = 500, representation: str = "nist") -> Template:
    """Read ``.xyt`` text into a template.

    Parameters
    ----------
    data : bytes-like
        UTF-8 (in practice ASCII) text; blank lines are skipped, ``\\r\\n`` is accepted.
    width, height : int
        Size in pixels of the image the minutiae were found in (``"nist"`` needs ``height`` to
        flip ``y``).
    dpi : int
        Resolution of the coordinates, 250..1000.
    representation : {"nist", "m1"}
        See the module docstring.

    Returns
    -------
    Template
        Minutiae in file order, all of kind ``OTHER``, ``image_quality`` 0.

    Raises
    ------
    InvalidParameterError
        If ``width``, ``height``, ``dpi`` or ``representation`` is out of range.
    InvalidTemplateError
        If the text is not UTF-8, a field is not an integer, a line has other than 3 or 4
        fields (or a different count from the first line), a coordinate or angle is outside
        its range, or there are more than 255 minutiae.

    Examples
    --------
    >>> t = loads(b"10 44 180 90\\n", width=64, height=64)
    >>> int(t.x[0]), int(t.y[0]), float(t.angle[0]), int(t.quality[0])
    (10, 20, 0.0, 90)
    >>> loads(b"10 20 ninety 90\\n", width=64, height=64)
    Traceback (most recent call last):
    ...
    matcher.errors.InvalidTemplateError: xyt line 1: field 3 is not an integer: 'ninety'
    """
    _check_representation(representation)
    for name, value, low, high in (("width", width, 1, MAX_COORDINATE_PX),
                                   ("height", height, 1, MAX_COORDINATE_PX), ("dpi", dpi, MIN_DPI, MAX_DPI)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise InvalidParameterError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    data = as_bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidTemplateError(f"xyt data is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    rows: list[list[int]] = []
    columns = 0
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r").strip(" \t")
        if not line:
            continue
        if len(rows) == MAX_MINUTIAE:
            raise InvalidTemplateError(f"xyt has more than {MAX_MINUTIAE} minutiae")
        fields = _FIELD_SEPARATOR.split(line)
        if len(fields) not in (3, 4) or (columns and len(fields) != columns):
            expected = columns or "3 or 4"
            raise InvalidTemplateError(f"xyt line {number}: {len(fields)} fields, expected {expected}")
        columns = len(fields)
        for index, field in enumerate(fields, start=1):
            if not _INTEGER.fullmatch(field):
                raise InvalidTemplateError(f"xyt line {number}: field {index} is not an integer: {field[:20]!r}")
        row = [int(field) for field in fields]
        _check_row(row, number, width, height, representation)
        rows.append(row)
    values = np.array(rows, dtype=np.int64).reshape(len(rows), columns or 4)
    x, y, theta = values[:, 0], values[:, 1], values[:, 2]
    if representation == "nist":
        row_px, degrees = height - y, (theta - 180) % 360
    else:
        row_px, degrees = y, 2 * theta
    quality = np.clip(values[:, 3], 0, 100) if columns == 4 else np.zeros(len(rows), dtype=np.int64)
    return Template(x=x, y=row_px, angle=np.deg2rad(degrees.astype(np.float64)),
                    kind=np.full(len(rows), MinutiaKind.OTHER, dtype=np.uint8), quality=quality,
                    width=width, height=height, dpi=dpi)


def _check_row(row: list[int], number: int, width: int, height: int, representation: str) -> None:
    x, y, theta = row[:3]
    y_low, y_high = (1, height) if representation == "nist" else (0, height - 1)
    theta_low, theta_high = (-360, 360) if representation == "nist" else (0, 179)
    for name, value, low, high in (("x", x, 0, width - 1), ("y", y, y_low, y_high),
                                   ("theta", theta, theta_low, theta_high)):
        if not low <= value <= high:
            raise InvalidTemplateError(
                f"xyt line {number}: {name} {value} is outside {low}..{high} ({representation} representation)")
