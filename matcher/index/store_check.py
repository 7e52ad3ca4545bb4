"""The invariants of a gallery file's columns, checked once when it is loaded (vectorised).

A version-3 file passes its checksums before this runs; the checks catch a file that a faulty
or hostile writer sealed with valid checksums, so that every template later made from the
columns (:meth:`matcher.index.columns.Columns.template`) is valid and every subject id is one
:func:`~matcher.index.records.check_subject` accepts. About 0.1 s a million fingers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import numpy as np

from matcher.errors import CorruptGalleryError
from matcher.index._prefix import MAX_ROW
from matcher.index.records import MAX_FINGERS, MAX_SUBJECT_CHARS
from matcher.params import MAX_DPI, MIN_DPI
from matcher.template import MAX_COORDINATE_PX, MAX_MINUTIAE, FingerPosition

__all__ = ["check"]

#: Bit pattern of float32(2 pi): a stored angle's bits, read as uint32, are below it exactly when the
#: angle is in [0, 2 pi) as Template keeps it (no sign bit, no NaN, no infinity).
_TWO_PI_BITS = int(np.float32(2 * np.pi).view(np.uint32))
_MAX_POSITION = max(FingerPosition)


def check(ids: list[str], numbers: dict[str, int], arrays: dict[str, np.ndarray], where: str) -> None:
    """:class:`CorruptGalleryError` naming the first broken invariant of the stored fingers.

    Subject ids valid and distinct (``numbers`` maps each to its place in ``ids``); 1 to
    ``MAX_FINGERS`` fingers a subject, positions distinct
    and increasing within a subject; rows distinct and below ``MAX_ROW``; every template as
    :meth:`Template.validate <matcher.template.Template.validate>` wants it, its angles as
    Template wraps them (bit-exact).
    """
    def fail(message: str) -> NoReturn:
        raise CorruptGalleryError(f"{where}: {message}")

    lengths = list(map(len, ids))
    if ids and (min(lengths) < 1 or max(lengths) > MAX_SUBJECT_CHARS or not "".join(ids).isprintable()):
        fail(f"a subject id is empty, longer than {MAX_SUBJECT_CHARS} characters or not printable")
    joined = "\n" + "\n".join(ids) + "\n"
    if "\n " in joined or " \n" in joined:
        fail("a subject id starts or ends with whitespace")
    if len(numbers) != len(ids):
        fail("a subject id is stored twice")
    starts, fingers = arrays["finger_start"], len(arrays["position"])
    counts = np.diff(starts)
    if starts[0] != 0 or starts[-1] != fingers or (counts.size and (counts.min() < 1 or counts.max() > MAX_FINGERS)):
        fail(f"subjects must hold 1 to {MAX_FINGERS} fingers each, in order")
    if fingers:
        _check_fingers(arrays, fail)
    _check_minutiae(arrays, fail)


def _check_fingers(arrays: dict[str, np.ndarray], fail: Callable[[str], NoReturn]) -> None:
    starts, position, row = arrays["finger_start"], arrays["position"], arrays["row"]
    fingers = len(position)
    if position.max() > _MAX_POSITION:
        fail(f"finger position {int(position.max())} is not a FingerPosition code (0..{int(_MAX_POSITION)})")
    first = np.zeros(fingers, bool)
    first[starts[:-1]] = True
    if np.any((np.diff(position.astype(np.int16)) <= 0) & ~first[1:]):
        fail("a subject's finger positions are not distinct and increasing")
    distinct = np.array_equal(row, np.arange(fingers)) or not np.any(np.diff(np.sort(row)) == 0)
    if row.min() < 0 or row.max() >= MAX_ROW or not distinct:
        fail("rows must be distinct, in 0..2**54 - 1")
    width, height, dpi = arrays["width"], arrays["height"], arrays["dpi"]
    if min(width.min(), height.min()) < 1 or max(width.max(), height.max()) > MAX_COORDINATE_PX:
        fail(f"template width and height must be in 1..{MAX_COORDINATE_PX}")
    if dpi.min() < MIN_DPI or dpi.max() > MAX_DPI or arrays["image_quality"].max() > 100:
        fail(f"template dpi must be in {MIN_DPI}..{MAX_DPI} and image quality in 0..100")


def _check_minutiae(arrays: dict[str, np.ndarray], fail: Callable[[str], NoReturn]) -> None:
    starts = arrays["minutia_start"]
    minutiae = len(arrays["x"])
    counts = np.diff(starts)
    if starts[0] != 0 or starts[-1] != minutiae or (counts.size and (counts.min() < 0 or counts.max() > MAX_MINUTIAE)):
        fail(f"templates must hold 0 to {MAX_MINUTIAE} minutiae each, in order")
    if not minutiae:
        return
    if arrays["kind"].max() > 2 or arrays["quality"].max() > 100:
        fail("minutia kind must be in 0..2 and quality in 0..100")
    if np.any(arrays["angle"].view("<u4") >= _TWO_PI_BITS):
        fail("a minutia angle is outside [0, 2*pi)")
    held = np.flatnonzero(counts)
    for name, size in (("x", "width"), ("y", "height")):
        values = arrays[name]
        if values.min() < 0 or np.any(np.maximum.reduceat(values, starts[held]) >= arrays[size][held]):
            fail(f"a minutia {name} is outside its template's {size}")
