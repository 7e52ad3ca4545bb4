"""Tests of matcher.formats.xyt: both NBIS representations, golden files, rejection, fuzzing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.formats import xyt
from matcher.template import MinutiaKind, Template

from .golden_reference import GOLDEN, HEIGHT, WIDTH, xyt_reference
from .strategies import (
    FUZZ,
    ROUND_TRIP,
    assert_angles_close,
    draw_template,
    mutations,
    parses_or_rejects,
    templates,
)

REPRESENTATIONS = pytest.mark.parametrize("representation", xyt.REPRESENTATIONS)


def load(text: str | bytes, representation: str = "nist", **options) -> Template:
    data = text.encode() if isinstance(text, str) else text
    return xyt.loads(data, width=options.pop("width", 64), height=options.pop("height", 64),
                     representation=representation, **options)


def minutia(x: int = 10, y: int = 20, degrees: float = 0.0, quality: int = 90) -> Template:
    return Template(x=[x], y=[y], angle=[math.radians(degrees)], kind=[1], quality=[quality], width=64, height=64)


# -- golden files ----------------------------------------------------------------------------

@REPRESENTATIONS
def test_golden_bytes_unchanged(representation: str) -> None:
    golden = (GOLDEN / f"{representation}.xyt").read_bytes()
    assert xyt.dumps(xyt_reference(representation), representation=representation) == golden


@REPRESENTATIONS
def test_golden_loads_to_reference(representation: str) -> None:
    golden = (GOLDEN / f"{representation}.xyt").read_bytes()
    loaded = xyt.loads(golden, width=WIDTH, height=HEIGHT, representation=representation)
    assert loaded == xyt_reference(representation)


# -- conventions -----------------------------------------------------------------------------

def test_default_is_nist() -> None:
    assert xyt.REPRESENTATIONS[0] == "nist"
    assert xyt.dumps(minutia()) == xyt.dumps(minutia(), representation="nist")


@pytest.mark.parametrize(("row", "degrees", "line"), [
    (0, 0.0, "10 64 180 90"),  # origin bottom-left: row 0 is y = height
    (63, 0.0, "10 1 180 90"),
    (20, 90.0, "10 44 270 90"),  # direction reversed: away from the ending
    (20, 180.0, "10 44 0 90"),
    (20, 270.0, "10 44 90 90"),
    (20, 359.6, "10 44 180 90"),
])
def test_nist_representation(row: int, degrees: float, line: str) -> None:
    assert xyt.dumps(minutia(y=row, degrees=degrees)) == (line + "\n").encode()


@pytest.mark.parametrize(("row", "degrees", "line"), [
    (0, 0.0, "10 0 0 90"),
    (63, 90.0, "10 63 45 90"),  # units of 2 degrees
    (20, 359.5, "10 20 0 90"),  # rounds to the nearest unit, 360 wraps to 0
    (20, 357.2, "10 20 179 90"),
    (20, 3.2, "10 20 2 90"),
])
def test_m1_representation(row: int, degrees: float, line: str) -> None:
    assert xyt.dumps(minutia(y=row, degrees=degrees), representation="m1") == (line + "\n").encode()


@REPRESENTATIONS
@ROUND_TRIP
@given(template=templates(max_minutiae=255))
def test_round_trip_within_quantisation(representation: str, template: Template) -> None:
    data = xyt.dumps(template, representation=representation)
    restored = xyt.loads(data, width=template.width, height=template.height, dpi=template.dpi,
                         representation=representation)
    for name in ("x", "y", "quality"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(template, name))
    assert np.all(restored.kind == MinutiaKind.OTHER)
    unit = math.radians(1 if representation == "nist" else 2)
    assert_angles_close(restored.angle, template.angle, unit / 2)
    assert (restored.width, restored.height, restored.dpi, restored.image_quality) == (
        template.width, template.height, template.dpi, 0)
    assert xyt.dumps(restored, representation=representation) == data


@REPRESENTATIONS
def test_empty(representation: str) -> None:
    empty = Template.empty(width=64, height=64)
    assert xyt.dumps(empty, representation=representation) == b""
    assert load(b"", representation) == empty
    assert load(" \n\r\n\t\n", representation) == empty


def test_three_columns_and_line_endings() -> None:
    loaded = load("10 44 180\r\n\n  11 45 90  \n")
    np.testing.assert_array_equal(loaded.x, [10, 11])
    np.testing.assert_array_equal(loaded.y, [20, 19])
    np.testing.assert_array_equal(loaded.quality, [0, 0])
    assert_angles_close(loaded.angle, np.radians([0.0, 270.0]), 1e-6)


@pytest.mark.parametrize(("theta", "degrees"), [(180, 0), (-180, 0), (-90, 90), (360, 180), (-360, 180)])
def test_nist_theta_outside_0_359_is_normalised(theta: int, degrees: float) -> None:
    assert_angles_close(load(f"10 44 {theta} 90").angle, np.radians([degrees]), 1e-6)


@pytest.mark.parametrize(("quality", "clamped"), [(-5, 0), (0, 0), (100, 100), (150, 100), (999999999, 100)])
def test_quality_is_clamped(quality: int, clamped: int) -> None:
    assert int(load(f"10 44 180 {quality}").quality[0]) == clamped


def test_255_minutiae_and_not_256() -> None:
    assert len(load("1 1 0 0\n" * 255)) == 255
    with pytest.raises(InvalidTemplateError, match="more than 255"):
        load("1 1 0 0\n" * 256)


# -- rejection -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "representation", "message"), [
    ("10 44", "nist", "line 1: 2 fields, expected 3 or 4"),
    ("10 44 180 90 1", "nist", "5 fields"),
    ("10 44 180 90\n10 44 180", "nist", "line 2: 3 fields, expected 4"),
    ("10 44 180\n\n10 44 180 90", "nist", "line 3: 4 fields, expected 3"),
    ("10 44 1.5 90", "nist", "field 3 is not an integer: '1.5'"),
    ("0x10 44 180 90", "nist", "field 1 is not an integer"),
    ("10 44 180 nan", "nist", "field 4 is not an integer"),
    ("10,44,180,90", "nist", "fields"),
    ("10 44 180 9\u0669", "nist", "not an integer"),  # Arabic-Indic digit nine
    ("1_0 44 180 90", "nist", "not an integer"),
    ("1234567890 44 180 90", "nist", "not an integer"),
    ("10\x0b44 180 90", "nist", "field 1 is not an integer"),
    ("64 44 180 90", "nist", "x 64 is outside 0..63"),
    ("-1 44 180 90", "nist", "x -1 is outside"),
    ("10 0 180 90", "nist", "y 0 is outside 1..64"),
    ("10 65 180 90", "nist", "y 65 is outside 1..64"),
    ("10 64 0 90", "m1", "y 64 is outside 0..63"),
    ("10 44 361 90", "nist", "theta 361 is outside -360..360"),
    ("10 44 180 90", "m1", "theta 180 is outside 0..179"),
    ("10 44 -1 90", "m1", "theta -1 is outside 0..179"),
])
def test_malformed_lines_are_rejected(text: str, representation: str, message: str) -> None:
    with pytest.raises(InvalidTemplateError, match=message):
        load(text, representation)


@pytest.mark.parametrize("data", [b"10 44 180 9\xff\n", b"\xfe\xff1\x002", b"\xc3"])
def test_non_utf8_is_rejected(data: bytes) -> None:
    with pytest.raises(InvalidTemplateError, match="not UTF-8"):
        load(data)


@pytest.mark.parametrize(("options", "message"), [
    ({"width": 0}, "width"), ({"height": 16384}, "height"), ({"dpi": 249}, "dpi"), ({"dpi": 500.0}, "dpi"),
    ({"width": True}, "width"), ({"representation": "ansi"}, "representation"),
])
def test_loads_rejects_bad_parameters(options: dict, message: str) -> None:
    representation = options.pop("representation", "nist")
    with pytest.raises(InvalidParameterError, match=message):
        load("10 44 180 90", representation, **options)


def test_dumps_rejects_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="representation"):
        xyt.dumps(minutia(), representation="M1")
    with pytest.raises(InvalidParameterError, match="must be a Template"):
        xyt.dumps("10 44 180 90")  # type: ignore[arg-type]


# -- fuzzing ---------------------------------------------------------------------------------

@REPRESENTATIONS
@FUZZ
@given(data=st.binary(max_size=64))
def test_fuzz_any_bytes(representation: str, data: bytes) -> None:
    parses_or_rejects(lambda d: xyt.loads(d, width=50, height=50, representation=representation), data)


@REPRESENTATIONS
@FUZZ
@given(text=st.text(alphabet="0123456789   -+\n\r\t.x\u0663", max_size=80))
def test_fuzz_numeric_text(representation: str, text: str) -> None:
    parses_or_rejects(lambda d: xyt.loads(d, width=200, height=200, representation=representation),
                      text.encode())


def _sized_file(draw, representation: str) -> bytes:
    """A valid file whose first line, "width height", is stripped off before parsing."""
    template = draw_template(draw, max_minutiae=8)
    return b"%d %d\n" % (template.width, template.height) + xyt.dumps(template, representation=representation)


MUTATED = {representation: mutations(lambda draw, r=representation: _sized_file(draw, r))
           for representation in xyt.REPRESENTATIONS}


@REPRESENTATIONS
@FUZZ
@given(data=st.data())
def test_fuzz_mutations_of_valid_files(representation: str, data: st.DataObject) -> None:
    candidate = data.draw(MUTATED[representation])
    size, _, text = candidate.partition(b"\n")
    try:
        width, height = (int(value) for value in size.split())
    except ValueError:
        width, height = 600, 600  # the mutation hit the size line
    width, height = min(max(width, 1), 16383), min(max(height, 1), 16383)
    parses_or_rejects(lambda d: xyt.loads(d, width=width, height=height, representation=representation), text)
