"""Opt-in capture of intermediate data (SourceAFIS-style "transparency").

By default nothing is captured and :func:`emit` costs one ContextVar lookup. Inside a
``with capture() as data:`` block every stage of the pipeline stores its intermediate
result under a documented key, so researchers can look at the mask, orientation field,
enhanced image, skeleton and minutiae before and after filtering.

Keys emitted by :func:`matcher.extract`:

``image``              uint8 (H, W) pixels after resampling to 500 dpi
``mask``               bool (H, W) foreground
``normalized``         float32 (H, W) zero-mean, unit-variance pixels
``orientation``        float32 (H, W) ridge orientation in rad, [0, pi)
``coherence``          float32 (H, W) orientation reliability in [0, 1]
``frequency``          float32 (H, W) ridge frequency in cycles per pixel
``enhanced``           float32 (H, W) contextually filtered image (ridges > 0)
``binary``             bool (H, W) ridge pixels
``skeleton``           bool (H, W) one-pixel-wide ridges
``minutiae_raw``       structured array of minutiae found by the crossing number
``minutiae_filtered``  structured array after false-minutiae removal, before the count cap

Examples
--------
>>> from matcher import transparency
>>> with transparency.capture() as data:
...     transparency.emit("mask", 1)
>>> data["mask"]
1
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["capture", "emit", "enabled"]

# The active capture: the dict being filled and the keys it keeps (None: every key).
_Capture = tuple[dict[str, Any], "frozenset[str] | None"]
_active: ContextVar[_Capture | None] = ContextVar("basma_transparency", default=None)


@contextlib.contextmanager
def capture(*, keys: frozenset[str] | set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Capture intermediate data emitted inside the block.

    Parameters
    ----------
    keys : set of str, optional
        Only these keys are kept; all keys when omitted.

    Yields
    ------
    dict
        Filled with ``key -> value`` as the pipeline runs.
    """
    data: dict[str, Any] = {}
    token = _active.set((data, None if keys is None else frozenset(keys)))
    try:
        yield data
    finally:
        _active.reset(token)


def enabled(key: str | None = None) -> bool:
    """Whether a capture is active — and, given ``key``, whether it keeps that key — so a
    stage can skip preparing costly debug data nobody asked for."""
    active = _active.get()
    if active is None:
        return False
    wanted = active[1]
    return key is None or wanted is None or key in wanted


def emit(key: str, value: Any) -> None:
    """Store ``value`` under ``key`` when a capture that keeps it is active; else do nothing."""
    if enabled(key):
        _active.get()[0][key] = value  # type: ignore[index]
