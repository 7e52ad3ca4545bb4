"""Tests of matcher.formats.native: exact round trip, golden bytes, corruption, fuzzing."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.errors import InvalidParameterError, InvalidTemplateError, TemplateVersionError
from matcher.formats import native
from matcher.template import Template

from .golden_reference import GOLDEN, native_reference
from .strategies import FUZZ, ROUND_TRIP, draw_template, mutations, parses_or_rejects, templates

GOLDEN_BYTES = (GOLDEN / "native_v1.bsmt").read_bytes()
HEADER = 16  # magic, version, width, height, dpi, image quality, reserved, count


def with_crc(data: bytes) -> bytes:
    """``data`` with its last four bytes replaced by the CRC of the rest."""
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]))


def patched(data: bytes, offset: int, raw: bytes) -> bytes:
    """``data`` with ``raw`` written at ``offset`` and the CRC fixed up."""
    return with_crc(data[:offset] + raw + data[offset + len(raw):])


# -- round trip ------------------------------------------------------------------------------

@ROUND_TRIP
@given(templates(max_minutiae=255))
def test_round_trip_is_exact(template: Template) -> None:
    data = native.dumps(template)
    assert len(data) == 20 + 10 * len(template)
    restored = native.loads(data)
    assert restored == template
    assert restored.angle.tobytes() == template.angle.tobytes()
    assert native.dumps(restored) == data


def test_empty_template() -> None:
    empty = Template.empty(width=1, height=1, dpi=250)
    data = native.dumps(empty)
    assert len(data) == 20
    assert native.loads(data) == empty


def test_255_minutiae_at_the_edges() -> None:
    n = 255
    template = Template(x=np.arange(n) % 2 * 16382, y=np.arange(n) % 3 * 8191, angle=np.linspace(0, 6.28, n),
                        kind=np.arange(n) % 3, quality=np.arange(n) % 101, width=16383, height=16383, dpi=1000,
                        image_quality=100)
    assert native.loads(native.dumps(template)) == template


def test_accepts_bytearray_and_memoryview() -> None:
    assert native.loads(bytearray(GOLDEN_BYTES)) == native_reference()
    assert native.loads(memoryview(GOLDEN_BYTES)) == native_reference()


def test_dumps_rejects_non_template() -> None:
    with pytest.raises(InvalidParameterError, match="must be a Template"):
        native.dumps([1, 2, 3])  # type: ignore[arg-type]


# -- golden file -----------------------------------------------------------------------------

def test_golden_bytes_unchanged() -> None:
    assert native.dumps(native_reference()) == GOLDEN_BYTES


def test_golden_loads_to_reference() -> None:
    assert native.loads(GOLDEN_BYTES) == native_reference()


# -- rejection -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [0, 2, 0xFFFF])
def test_unknown_version_is_a_version_error(version: int) -> None:
    data = patched(GOLDEN_BYTES, 4, struct.pack("<H", version))
    with pytest.raises(TemplateVersionError, match=f"version {version} is not supported"):
        native.loads(data)
    with pytest.raises(TemplateVersionError):
        native.loads(data[:6])  # the version is checked before the length


def test_version_error_is_an_invalid_template_error() -> None:
    assert issubclass(TemplateVersionError, InvalidTemplateError)


@pytest.mark.parametrize("data", [b"", b"BSM", b"XSMT\x01\x00", b"bsmt" + GOLDEN_BYTES[4:], b"FMR\x00 20\x00"])
def test_bad_magic_or_too_short(data: bytes) -> None:
    with pytest.raises(InvalidTemplateError, match="magic|truncated"):
        native.loads(data)


def test_every_truncation_is_rejected() -> None:
    for size in range(len(GOLDEN_BYTES)):
        with pytest.raises(InvalidTemplateError, match="truncated|magic"):
            native.loads(GOLDEN_BYTES[:size])


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(InvalidTemplateError, match="trailing"):
        native.loads(GOLDEN_BYTES + b"\x00")


@pytest.mark.parametrize("offset", [6, HEADER, len(GOLDEN_BYTES) - 5, len(GOLDEN_BYTES) - 1])
def test_crc_mismatch_is_rejected(offset: int) -> None:
    corrupt = bytearray(GOLDEN_BYTES)
    corrupt[offset] ^= 0x01
    with pytest.raises(InvalidTemplateError, match="CRC mismatch"):
        native.loads(bytes(corrupt))


@pytest.mark.parametrize(("count", "message"), [(3, "trailing"), (5, "truncated"), (256, "exceeds 255"),
                                                (0xFFFF, "exceeds 255")])
def test_count_inconsistent_with_length(count: int, message: str) -> None:
    with pytest.raises(InvalidTemplateError, match=message):
        native.loads(patched(GOLDEN_BYTES, 14, struct.pack("<H", count)))


def test_reserved_byte_must_be_zero() -> None:
    with pytest.raises(InvalidTemplateError, match="reserved"):
        native.loads(patched(GOLDEN_BYTES, 13, b"\x01"))


@pytest.mark.parametrize("angle", [np.float32(2 * np.pi), np.float32(-0.5), np.float32(7.0), np.float32(np.nan),
                                   np.float32(np.inf)])
def test_angle_outside_range_is_rejected(angle: np.float32) -> None:
    offset = HEADER + 4 * 4  # the first angle of the four-minutia reference
    with pytest.raises(InvalidTemplateError, match="angle"):
        native.loads(patched(GOLDEN_BYTES, offset, np.array([angle], dtype="<f4").tobytes()))


@pytest.mark.parametrize(("offset", "raw", "message"), [
    (HEADER, struct.pack("<h", -1), "x must be"),
    (HEADER, struct.pack("<h", 320), "x must be"),
    (HEADER + 8, struct.pack("<h", 480), "y must be"),
    (HEADER + 32, b"\x03", "kind"),
    (HEADER + 36, b"\x65", "quality"),
    (6, struct.pack("<H", 0), "width"),
    (10, struct.pack("<H", 249), "dpi"),
    (12, b"\x65", "image_quality"),
])
def test_invariant_violations_are_rejected(offset: int, raw: bytes, message: str) -> None:
    with pytest.raises(InvalidTemplateError, match=message):
        native.loads(patched(GOLDEN_BYTES, offset, raw))


@pytest.mark.parametrize("data", ["BSMT", 12345, None])
def test_non_bytes_input(data: object) -> None:
    with pytest.raises(InvalidTemplateError, match="must be bytes"):
        native.loads(data)  # type: ignore[arg-type]


# -- fuzzing ---------------------------------------------------------------------------------

@FUZZ
@given(st.binary(max_size=128))
def test_fuzz_any_bytes(data: bytes) -> None:
    parses_or_rejects(native.loads, data)


@FUZZ
@given(st.binary(max_size=64).map(lambda tail: native.MAGIC + b"\x01\x00" + tail))
def test_fuzz_after_valid_magic_and_version(data: bytes) -> None:
    parses_or_rejects(native.loads, data)


MUTATED = mutations(lambda draw: native.dumps(draw_template(draw, max_minutiae=8)))


@FUZZ
@given(MUTATED)
def test_fuzz_mutations_of_valid_templates(candidate: bytes) -> None:
    """As mutated, then with the CRC repaired: past it every structural check must hold, and
    whatever parses re-serialises to the same bytes."""
    parses_or_rejects(native.loads, candidate)
    if len(candidate) >= 4:
        candidate = with_crc(candidate)
        result = parses_or_rejects(native.loads, candidate)
        if result is not None:
            assert native.dumps(result) == candidate
