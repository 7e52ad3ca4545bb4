"""Tests of matcher.formats.ansi378: byte layout, long records, angle units, golden record.

Behaviour shared with ISO/IEC 19794-2 (round trips, rejection, fuzzing) is in test_fmr.py.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from matcher.errors import InvalidTemplateError
from matcher.formats import ansi378, iso19794_2
from matcher.template import FingerPosition, FingerView, Template

from .golden_reference import GOLDEN, ansi_reference

GOLDEN_BYTES = (GOLDEN / "ansi378_2004.fmr").read_bytes()


def test_golden_bytes_unchanged() -> None:
    assert ansi378.dumps(ansi_reference()) == GOLDEN_BYTES


def test_golden_loads_to_reference() -> None:
    assert ansi378.loads(GOLDEN_BYTES) == ansi_reference()


def test_layout_of_a_one_minutia_record() -> None:
    """Bytes written out field by field from the standard's record layout."""
    template = Template(x=[300], y=[5], angle=[math.pi / 2], kind=[1], quality=[77], width=400, height=500,
                        dpi=1000, image_quality=88)
    view = FingerView(template, position=FingerPosition.RIGHT_THUMB, view_number=0, impression_type=1)
    expected = b"".join([
        b"FMR\x00", b" 20\x00",
        (26 + 4 + 6 + 2).to_bytes(2, "big"),  # record length
        b"\x00\x00\x00\x00",  # CBEFF product identifier: owner, type
        b"\x00\x00",  # capture equipment: compliance 0, id 0
        (400).to_bytes(2, "big"), (500).to_bytes(2, "big"),  # image size
        (394).to_bytes(2, "big"), (394).to_bytes(2, "big"),  # px/cm
        b"\x01", b"\x00",  # one finger view, reserved
        b"\x01", b"\x01", bytes([88]), b"\x01",  # position 1, view 0 | impression 1, quality, count
        ((1 << 14) | 300).to_bytes(2, "big"), (5).to_bytes(2, "big"), bytes([45, 77]),  # minutia
        b"\x00\x00",  # no extended data
    ])
    assert ansi378.dumps(view) == expected
    assert ansi378.loads(expected) == [view]


@pytest.mark.parametrize(("degrees", "code"), [
    (0.0, 0), (2.0, 1), (0.99, 0), (1.01, 1), (180.0, 90), (358.0, 179), (358.99, 179), (359.01, 0),
])
def test_angle_codes(degrees: float, code: int) -> None:
    template = Template(x=[1], y=[1], angle=[math.radians(degrees)], kind=[0], quality=[0], width=4, height=4)
    assert ansi378.dumps(template)[26 + 4 + 4] == code


@pytest.mark.parametrize("code", [180, 200, 255])
def test_angle_code_above_179_is_rejected(code: int) -> None:
    template = Template(x=[1], y=[1], angle=[0.0], kind=[0], quality=[0], width=4, height=4)
    data = bytearray(ansi378.dumps(template))
    data[26 + 4 + 4] = code
    with pytest.raises(InvalidTemplateError, match=f"angle code {code} exceeds 179"):
        ansi378.loads(bytes(data))


def _long_views(count: int) -> list[FingerView]:
    n = 255
    template = Template(x=np.arange(n), y=np.arange(n), angle=np.arange(n) % 180 * (math.pi / 90),
                        kind=np.arange(n) % 3, quality=np.arange(n) % 101, width=300, height=300)
    return [FingerView(template, position=i % 11, view_number=i // 11) for i in range(count)]


def test_long_record_uses_the_six_byte_length() -> None:
    views = _long_views(43)  # 26 + 43 * 1536 = 66074 bytes > 65535
    data = ansi378.dumps(views)
    assert data[8:10] == b"\x00\x00"
    assert struct.unpack(">I", data[10:14])[0] == len(data) == 30 + 43 * 1536
    assert ansi378.declared_length(data) == len(data)
    assert ansi378.loads(data) == views


def test_largest_short_record() -> None:
    views = _long_views(42)  # 26 + 42 * 1536 = 64538 bytes
    data = ansi378.dumps(views)
    assert struct.unpack(">H", data[8:10])[0] == len(data) == 26 + 42 * 1536
    assert ansi378.loads(data) == views


def test_six_byte_length_is_accepted_for_short_records() -> None:
    data = GOLDEN_BYTES[:8] + b"\x00\x00" + struct.pack(">I", len(GOLDEN_BYTES) + 4) + GOLDEN_BYTES[10:]
    assert ansi378.loads(data) == ansi_reference()


@pytest.mark.parametrize("size", [9, 10, 11, 12, 13])
def test_truncated_long_length_is_rejected(size: int) -> None:
    with pytest.raises(InvalidTemplateError, match="truncated"):
        ansi378.loads(b"FMR\x00 20\x00\x00\x00\x00\x01\x02\x03"[:size])


def test_declared_length() -> None:
    assert ansi378.declared_length(GOLDEN_BYTES) == len(GOLDEN_BYTES)
    assert ansi378.declared_length(GOLDEN_BYTES[:9]) is None
    assert ansi378.declared_length(b"FMR\x00 20\x00\x00\x00\x00\x01") is None


def test_iso_record_is_not_an_ansi_record() -> None:
    with pytest.raises(InvalidTemplateError, match="length field"):
        ansi378.loads(iso19794_2.dumps(ansi_reference()))
