"""Tests of matcher.formats.iso19794_2: byte layout, angle units, golden record.

Behaviour shared with ANSI/INCITS 378 (round trips, rejection, fuzzing) is in test_fmr.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.errors import InvalidTemplateError
from matcher.formats import iso19794_2
from matcher.template import FingerPosition, FingerView, Template

from .golden_reference import GOLDEN, iso_reference

GOLDEN_BYTES = (GOLDEN / "iso19794_2_2005.fmr").read_bytes()


def test_golden_bytes_unchanged() -> None:
    assert iso19794_2.dumps(iso_reference()) == GOLDEN_BYTES


def test_golden_loads_to_reference() -> None:
    assert iso19794_2.loads(GOLDEN_BYTES) == iso_reference()


def test_layout_of_a_one_minutia_record() -> None:
    """Bytes written out field by field from the standard's record layout."""
    template = Template(x=[300], y=[5], angle=[math.pi / 2], kind=[2], quality=[77], width=400, height=500,
                        dpi=500, image_quality=88)
    view = FingerView(template, position=FingerPosition.LEFT_INDEX, view_number=3, impression_type=2)
    expected = b"".join([
        b"FMR\x00", b" 20\x00",
        (24 + 4 + 6 + 2).to_bytes(4, "big"),  # record length
        b"\x00\x00",  # capture equipment: compliance 0, id 0
        (400).to_bytes(2, "big"), (500).to_bytes(2, "big"),  # image size
        (197).to_bytes(2, "big"), (197).to_bytes(2, "big"),  # px/cm
        b"\x01", b"\x00",  # one finger view, reserved
        b"\x07", b"\x32", bytes([88]), b"\x01",  # position 7, view 3 | impression 2, quality, count
        ((2 << 14) | 300).to_bytes(2, "big"), (5).to_bytes(2, "big"), bytes([64, 77]),  # minutia
        b"\x00\x00",  # no extended data
    ])
    assert iso19794_2.dumps(view) == expected
    assert iso19794_2.loads(expected) == [view]


@pytest.mark.parametrize(("degrees", "code"), [
    (0.0, 0), (360 / 256, 1), (360 / 512 - 1e-4, 0), (360 / 512 + 1e-4, 1), (180.0, 128), (359.0, 255),
    (359.99, 0),
])
def test_angle_codes(degrees: float, code: int) -> None:
    template = Template(x=[1], y=[1], angle=[math.radians(degrees)], kind=[0], quality=[0], width=4, height=4)
    assert iso19794_2.dumps(template)[24 + 4 + 4] == code


def test_every_angle_code_round_trips() -> None:
    def coded(codes: np.ndarray) -> Template:
        return Template(x=codes % 16, y=codes // 16, angle=codes * (2 * math.pi / 256), kind=codes % 3,
                        quality=codes % 101, width=16, height=16)

    templates = [coded(np.arange(0, 255)), coded(np.arange(255, 256))]
    data = iso19794_2.dumps([FingerView(t, view_number=i) for i, t in enumerate(templates)])
    assert [view.template for view in iso19794_2.loads(data)] == templates


def test_declared_length() -> None:
    assert iso19794_2.declared_length(GOLDEN_BYTES) == len(GOLDEN_BYTES)
    assert iso19794_2.declared_length(GOLDEN_BYTES[:11]) is None


def test_ansi_record_is_not_an_iso_record() -> None:
    from matcher.formats import ansi378

    with pytest.raises(InvalidTemplateError, match="length field"):
        iso19794_2.loads(ansi378.dumps(iso_reference()))
