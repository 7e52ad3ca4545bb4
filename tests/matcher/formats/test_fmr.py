"""Behaviour ISO/IEC 19794-2 and ANSI/INCITS 378 records share (matcher.formats._fmr).

Every test runs against both formats; layout details of each live in their own test modules.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.formats import _fmr, ansi378, iso19794_2
from matcher.template import FingerPosition, FingerView, Template

from .strategies import (
    FUZZ,
    ROUND_TRIP,
    assert_angles_close,
    draw_views,
    mutations,
    parses_or_rejects,
    view_lists,
    with_length,
)

#: module -> bytes before the shared block (magic, length, and ANSI's product identifier).
PREFIX = {iso19794_2: 12, ansi378: 14}
FORMATS = pytest.mark.parametrize("fmt", [iso19794_2, ansi378], ids=["iso", "ansi"])


def header_size(fmt) -> int:
    return PREFIX[fmt] + 12


def patched(fmt, data: bytes, offset: int, raw: bytes) -> bytes:
    return with_length(fmt, data[:offset] + raw + data[offset + len(raw):])


def one_minutia(**overrides) -> Template:
    fields = dict(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64, dpi=500)
    fields.update(overrides)
    return Template(**fields)


# -- resolution conversion -------------------------------------------------------------------

@pytest.mark.parametrize(("dpi", "ppcm"), [(250, 98), (500, 197), (508, 200), (1000, 394), (333, 131)])
def test_dpi_to_ppcm(dpi: int, ppcm: int) -> None:
    assert _fmr.dpi_to_ppcm(dpi) == ppcm
    assert _fmr.dpi_to_ppcm(dpi) == round(dpi / 2.54)


@pytest.mark.parametrize(("ppcm", "dpi"), [(98, 250), (197, 500), (200, 508), (394, 1000), (125, 318)])
def test_ppcm_to_dpi_clamps_only_rounding_overshoot(ppcm: int, dpi: int) -> None:
    assert _fmr.ppcm_to_dpi(ppcm) == dpi


def test_every_dpi_survives_within_rounding() -> None:
    for dpi in range(250, 1001):
        back = _fmr.ppcm_to_dpi(_fmr.dpi_to_ppcm(dpi))
        assert abs(back - dpi) <= 2
        assert _fmr.dpi_to_ppcm(back) == _fmr.dpi_to_ppcm(dpi)


@FORMATS
@pytest.mark.parametrize(("ppcm", "dpi"), [(98, 250), (197, 500), (394, 1000)])
def test_resolution_read(fmt, ppcm: int, dpi: int) -> None:
    data = fmt.dumps(one_minutia())
    data = patched(fmt, data, PREFIX[fmt] + 6, struct.pack(">HH", ppcm, ppcm))
    assert fmt.loads(data)[0].template.dpi == dpi


@FORMATS
@pytest.mark.parametrize("ppcm", [0, 97, 395, 0xFFFF])
def test_resolution_out_of_range_is_rejected(fmt, ppcm: int) -> None:
    data = patched(fmt, fmt.dumps(one_minutia()), PREFIX[fmt] + 6, struct.pack(">HH", ppcm, ppcm))
    with pytest.raises(InvalidTemplateError, match="resolution"):
        fmt.loads(data)


@FORMATS
def test_non_square_pixels_are_rejected(fmt) -> None:
    data = patched(fmt, fmt.dumps(one_minutia()), PREFIX[fmt] + 6, struct.pack(">HH", 197, 196))
    with pytest.raises(InvalidTemplateError, match="non-square"):
        fmt.loads(data)


# -- round trips -----------------------------------------------------------------------------

@FORMATS
@ROUND_TRIP
@given(views=view_lists())
def test_round_trip_within_quantisation(fmt, views: list[FingerView]) -> None:
    data = fmt.dumps(views)
    restored = fmt.loads(data)
    assert len(restored) == len(views)
    step = 2 * math.pi / fmt.ANGLE_UNITS
    for before, after in zip(views, restored, strict=True):
        assert (after.position, after.view_number, after.impression_type, after.finger_quality) == (
            before.position, before.view_number, before.impression_type, before.finger_quality)
        a, b = after.template, before.template
        assert (a.width, a.height, a.image_quality) == (b.width, b.height, before.finger_quality)
        assert a.dpi == _fmr.ppcm_to_dpi(_fmr.dpi_to_ppcm(b.dpi))
        for name in ("x", "y", "kind", "quality"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert_angles_close(a.angle, b.angle, step / 2)
    assert fmt.dumps(restored) == data  # quantisation is idempotent


@FORMATS
def test_template_round_trips_through_one_view(fmt) -> None:
    template = one_minutia(image_quality=42, angle=[math.pi])
    [view] = fmt.loads(fmt.dumps(template))
    assert view == FingerView(template, position=FingerPosition.UNKNOWN, finger_quality=42)


@FORMATS
def test_empty_template(fmt) -> None:
    empty = Template.empty(width=1, height=1, dpi=500)
    data = fmt.dumps(empty)
    assert len(data) == header_size(fmt) + 6
    assert fmt.loads(data) == [FingerView(empty)]


@FORMATS
def test_255_minutiae_at_the_edges(fmt) -> None:
    n = 255
    template = Template(x=np.arange(n) % 2 * 16382, y=np.arange(n) % 3 * 8191,
                        angle=np.arange(n) % fmt.ANGLE_UNITS * (2 * math.pi / fmt.ANGLE_UNITS), kind=np.arange(n) % 3,
                        quality=np.arange(n) % 101, width=16383, height=16383, dpi=1000, image_quality=100)
    assert fmt.loads(fmt.dumps(template))[0].template == template


@FORMATS
def test_many_views_of_several_fingers(fmt) -> None:
    base = one_minutia()
    views = [FingerView(base, position=position, view_number=view, impression_type=view % 4)
             for position in FingerPosition for view in range(3)]
    assert fmt.loads(fmt.dumps(views)) == views


# -- rejection of records --------------------------------------------------------------------

@FORMATS
def test_zero_views_parse_to_an_empty_list(fmt) -> None:
    data = fmt.dumps(Template.empty(width=8, height=8))
    data = with_length(fmt, data[:PREFIX[fmt] + 10] + b"\x00\x00")
    assert fmt.loads(data) == []


@FORMATS
@pytest.mark.parametrize(("offset", "raw", "message"), [
    (-12, b"XMR\x00", "not an"),  # offsets below 0 are before the shared block, from the start
    (-8, b" 30\x00", "not an"),
    (2, b"\x00\x00", "image size"),  # width 0
    (4, b"\x40\x00", "image size"),  # height 16384
    (12, b"\x0b", "finger view 0: position"),
    (14, b"\x65", "finger view 0: finger quality 101"),
    (16, b"\xc0\x0a", "type code"),
    (16, b"\x00\x40", "x must be in 0..63"),
    (18, b"\x00\x40", "y must be in 0..63"),
    (21, b"\x65", "quality 101"),
])
def test_invalid_fields_are_rejected(fmt, offset: int, raw: bytes, message: str) -> None:
    """``offset`` counts from the shared block (capture equipment) unless negative."""
    start = offset + 12 if offset < 0 else PREFIX[fmt] + offset
    with pytest.raises(InvalidTemplateError, match=message):
        fmt.loads(patched(fmt, fmt.dumps(one_minutia()), start, raw))


@FORMATS
def test_reserved_y_bits_are_ignored(fmt) -> None:
    data = fmt.dumps(one_minutia())
    offset = header_size(fmt) + 4 + 2
    assert fmt.loads(patched(fmt, data, offset, b"\xc0\x14"))[0].template == one_minutia()


@FORMATS
def test_extended_data_is_skipped(fmt) -> None:
    data = fmt.dumps([FingerView(one_minutia()), FingerView(one_minutia(), view_number=1)])
    end_of_first = header_size(fmt) + 4 + 6
    extended = b"\x00\x01\x00\x07abc"  # type 1, length 7, three bytes of data
    data = with_length(fmt, data[:end_of_first] + struct.pack(">H", len(extended)) + extended
                       + data[end_of_first + 2:])
    assert fmt.loads(data) == [FingerView(one_minutia()), FingerView(one_minutia(), view_number=1)]


@FORMATS
def test_extended_data_longer_than_the_record_is_rejected(fmt) -> None:
    data = fmt.dumps(one_minutia())
    with pytest.raises(InvalidTemplateError, match="truncated: extended data"):
        fmt.loads(patched(fmt, data, len(data) - 2, b"\xff\xff"))


@FORMATS
def test_length_field_must_match(fmt) -> None:
    data = fmt.dumps(one_minutia())
    with pytest.raises(InvalidTemplateError, match="length field"):
        fmt.loads(data + b"\x00")
    with pytest.raises(InvalidTemplateError, match="length field|truncated"):
        fmt.loads(data[:-1])


@FORMATS
def test_unused_bytes_after_the_views_are_rejected(fmt) -> None:
    with pytest.raises(InvalidTemplateError, match="unused bytes"):
        fmt.loads(with_length(fmt, fmt.dumps(one_minutia()) + b"\x00\x00"))


@FORMATS
def test_view_count_beyond_the_data_is_rejected(fmt) -> None:
    data = patched(fmt, fmt.dumps(one_minutia()), PREFIX[fmt] + 10, b"\xff")
    with pytest.raises(InvalidTemplateError, match="finger view 1: .*truncated"):
        fmt.loads(data)


@FORMATS
def test_every_truncation_is_rejected(fmt) -> None:
    data = fmt.dumps([FingerView(one_minutia()), FingerView(one_minutia(), view_number=1)])
    for size in range(len(data)):
        with pytest.raises(InvalidTemplateError):
            fmt.loads(data[:size])
        with pytest.raises(InvalidTemplateError):
            fmt.loads(with_length(fmt, data[:size]) if size >= 12 else data[:size])


# -- rejection of inputs to dumps ------------------------------------------------------------

@FORMATS
@pytest.mark.parametrize(("views", "message"), [
    ([], "empty"),
    ("FMR", "must be a Template"),
    (None, "must be a Template"),
    ([one_minutia()], r"views\[0\] must be a FingerView"),
    ([FingerView(one_minutia()), FingerView(one_minutia(width=65))], "share image size"),
    ([FingerView(one_minutia()), FingerView(one_minutia(dpi=501))], "share image size"),
    ([FingerView(one_minutia())] * 256, "at most 255"),
])
def test_dumps_rejects(fmt, views, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        fmt.dumps(views)


# -- fuzzing ---------------------------------------------------------------------------------

@FORMATS
@FUZZ
@given(tail=st.binary(max_size=96))
def test_fuzz_any_bytes_after_the_magic(fmt, tail: bytes) -> None:
    parses_or_rejects(fmt.loads, _fmr.MAGIC + tail)
    parses_or_rejects(fmt.loads, with_length(fmt, _fmr.MAGIC + tail) if len(tail) >= 4 else tail)


MUTATED = {fmt: mutations(lambda draw, fmt=fmt: fmt.dumps(draw_views(draw, max_views=3, max_minutiae=6)))
           for fmt in (iso19794_2, ansi378)}


@FORMATS
@FUZZ
@given(data=st.data())
def test_fuzz_mutations_of_valid_records(fmt, data: st.DataObject) -> None:
    """As mutated, then with the length field repaired so that parsing goes past it."""
    candidate = data.draw(MUTATED[fmt])
    parses_or_rejects(fmt.loads, candidate)
    if len(candidate) >= header_size(fmt):
        parses_or_rejects(fmt.loads, with_length(fmt, candidate))


@FORMATS
@FUZZ
@given(body=st.binary(max_size=80))
def test_fuzz_body_bytes_with_a_consistent_length(fmt, body: bytes) -> None:
    """Random bytes after a valid header: the view parser must bound every count by the data."""
    header = fmt.dumps(one_minutia())[:header_size(fmt)]
    candidate = with_length(fmt, header + body)
    result = parses_or_rejects(fmt.loads, candidate)
    if result:
        fmt.dumps(result)
