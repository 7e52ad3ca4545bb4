"""Hypothesis strategies and helpers shared by the format tests."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from matcher.errors import InvalidTemplateError
from matcher.formats import iso19794_2
from matcher.template import MAX_MINUTIAE, FingerPosition, FingerView, Template

TWO_PI = 2.0 * math.pi
#: The largest float32 below 2*pi (float32(2*pi) itself rounds up past it).
LARGEST_ANGLE = float(np.nextafter(np.float32(TWO_PI), np.float32(0)))


_SIZES = st.one_of(st.integers(1, 600), st.sampled_from([1, 2, 16383]))
_DPIS = st.one_of(st.sampled_from([250, 500, 1000]), st.integers(250, 1000))
_SEEDS = st.integers(0, 2**32 - 1)
_EDGE_SHARES = st.sampled_from([0.0, 0.2, 1.0])
_PERCENT = st.integers(0, 100)
_BOOLEANS = st.booleans()
_MUTATIONS = st.integers(0, 4)
_BYTE = st.integers(0, 255)
_OPERATIONS = st.sampled_from(["none", "truncate", "extend"])
_EXTENSION = st.binary(min_size=1, max_size=16)


def draw_template(draw: Callable[[st.SearchStrategy[Any]], Any], *, max_minutiae: int = 40,
                  width: int | None = None, height: int | None = None, dpi: int | None = None) -> Template:
    """Valid templates; sizes lean to small images, values to the edges of their ranges.

    Hypothesis draws the shape and a seed; numpy fills the arrays (drawing 255 minutiae value
    by value would make every example slow), then a drawn share of entries is pinned to the
    edges: coordinates 0 and size - 1, angles 0 and the largest float32 below 2*pi.
    """
    width = width or draw(_SIZES)
    height = height or draw(_SIZES)
    dpi = dpi or draw(_DPIS)
    n = draw(st.integers(0, max_minutiae)) if draw(_BOOLEANS) else draw(st.sampled_from([0, max_minutiae]))
    rng = np.random.default_rng(draw(_SEEDS))
    edge_share = draw(_EDGE_SHARES)
    edge = rng.random((3, n)) < edge_share
    x = np.where(edge[0], rng.choice([0, width - 1], n), rng.integers(0, width, n))
    y = np.where(edge[1], rng.choice([0, height - 1], n), rng.integers(0, height, n))
    angle = np.where(edge[2], rng.choice(np.array([0.0, LARGEST_ANGLE], dtype=np.float32), n),
                     rng.uniform(0.0, TWO_PI, n).astype(np.float32) % np.float32(LARGEST_ANGLE))
    return Template(x=x, y=y, angle=angle.astype(np.float32), kind=rng.integers(0, 3, n),
                    quality=rng.integers(0, 101, n), width=width, height=height, dpi=dpi,
                    image_quality=draw(_PERCENT))


@st.composite
def templates(draw: st.DrawFn, **options: Any) -> Template:
    """Strategy form of :func:`draw_template`."""
    return draw_template(draw, **options)


def draw_views(draw: Callable[[st.SearchStrategy[Any]], Any], *, max_views: int = 4,
               max_minutiae: int = 20) -> list[FingerView]:
    """One to ``max_views`` finger views sharing image size and dpi."""
    first = draw_template(draw, max_minutiae=max_minutiae)
    count = draw(st.integers(1, max_views))
    same = [first] + [draw_template(draw, max_minutiae=max_minutiae, width=first.width, height=first.height,
                                    dpi=first.dpi) for _ in range(count - 1)]
    rng = np.random.default_rng(draw(_SEEDS))
    finger_quality = [None if q > 100 else int(q) for q in rng.integers(0, 102, count)]
    return [FingerView(t, position=int(rng.integers(0, len(FingerPosition))), view_number=int(rng.integers(0, 16)),
                       impression_type=int(rng.integers(0, 16)), finger_quality=finger_quality[i])
            for i, t in enumerate(same)]


@st.composite
def view_lists(draw: st.DrawFn, **options: Any) -> list[FingerView]:
    """Strategy form of :func:`draw_views`."""
    return draw_views(draw, **options)


def mutate(draw: Callable[[st.SearchStrategy[Any]], Any], data: bytes) -> bytes:
    """``data`` with a few bytes overwritten, a truncation and/or an extension."""
    buffer = bytearray(data)
    for _ in range(draw(_MUTATIONS)):
        if buffer:
            buffer[draw(st.integers(0, len(buffer) - 1))] = draw(_BYTE)
    operation = draw(_OPERATIONS)
    if operation == "truncate" and buffer:
        del buffer[draw(st.integers(0, len(buffer) - 1)):]
    elif operation == "extend":
        buffer += draw(_EXTENSION)
    return bytes(buffer)


def mutations(write: Callable[[Callable[[st.SearchStrategy[Any]], Any]], bytes]) -> st.SearchStrategy[bytes]:
    """Strategy of mutated valid inputs; ``write(draw)`` draws and serialises a valid value.

    Build it once per module: drawing inside one composite is much cheaper than many
    ``st.data()`` draws.
    """
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        return mutate(draw, write(draw))

    return build()


def with_length(fmt: ModuleType, data: bytes) -> bytes:
    """``data`` with its ISO/ANSI record length field set to ``len(data)`` (short-form ANSI)."""
    if fmt is iso19794_2:
        return data[:8] + struct.pack(">I", len(data)) + data[12:]
    return data[:8] + struct.pack(">H", len(data) & 0xFFFF) + data[10:]


def parses_or_rejects(parse, data: bytes) -> object | None:
    """Call ``parse(data)``; return its result, or None when it raised InvalidTemplateError.

    Any other exception propagates and fails the test. Results are checked for validity.
    """
    try:
        result = parse(data)
    except InvalidTemplateError as exc:
        assert str(exc), "InvalidTemplateError without a message"
        return None
    for item in result if isinstance(result, list) else [result]:
        template = item.template if isinstance(item, FingerView) else item
        assert isinstance(template, Template)
        template.validate()
        assert len(template) <= MAX_MINUTIAE
    return result


def assert_angles_close(actual: np.ndarray, expected: np.ndarray, tolerance_rad: float) -> None:
    """Angles equal modulo 2*pi within ``tolerance_rad``."""
    difference = np.angle(np.exp(1j * (actual.astype(np.float64) - expected.astype(np.float64))))
    assert np.all(np.abs(difference) <= tolerance_rad + 1e-6), np.abs(difference).max()


#: Settings for the fuzz tests: enough examples to find structural bugs, fast enough for CI.
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Settings for round-trip properties.
ROUND_TRIP = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
