"""Tests of the matcher.formats package API: dumps/loads dispatch, FORMATS, detect_format."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher import formats
from matcher.errors import InvalidParameterError, InvalidTemplateError, TemplateVersionError
from matcher.formats import ansi378, iso19794_2
from matcher.template import FingerPosition, FingerView, Template

from .golden_reference import GOLDEN, GOLDEN_FILES, iso_reference
from .strategies import FUZZ, ROUND_TRIP, view_lists, with_length

TEMPLATE = Template(x=[10, 63], y=[20, 0], angle=[0.0, math.pi], kind=[1, 2], quality=[90, 10], width=64,
                    height=64, dpi=500, image_quality=55)
OPTIONS = {"xyt": {"width": 64, "height": 64}}


def test_formats() -> None:
    assert formats.FORMATS == ("native", "iso", "ansi", "xyt")
    assert sorted(formats.__all__) == ["FORMATS", "detect_format", "dumps", "loads"]


@pytest.mark.parametrize("name", formats.FORMATS)
def test_round_trip_through_each_format(name: str) -> None:
    data = formats.dumps(TEMPLATE, name)
    loaded = formats.loads(data, name, **OPTIONS.get(name, {}))
    if name == "xyt":  # xyt keeps no kinds or image quality
        assert (loaded.x.tolist(), loaded.y.tolist(), loaded.quality.tolist()) == ([10, 63], [20, 0], [90, 10])
    else:
        assert loaded == TEMPLATE
    assert formats.detect_format(data) == name


def test_native_is_the_default() -> None:
    assert formats.dumps(TEMPLATE) == formats.dumps(TEMPLATE, "native")


def test_xyt_options_pass_through() -> None:
    data = formats.dumps(TEMPLATE, "xyt", representation="m1")
    assert data.splitlines()[0] == b"10 20 0 90"
    loaded = formats.loads(data, "xyt", width=64, height=64, dpi=1000, representation="m1")
    assert loaded.dpi == 1000 and loaded.y.tolist() == [20, 0]


def test_iso_and_ansi_load_the_first_view() -> None:
    for name, module in (("iso", iso19794_2), ("ansi", ansi378)):
        data = module.dumps(iso_reference())
        assert formats.loads(data, name) == module.loads(data)[0].template


def test_iso_and_ansi_take_views() -> None:
    views = [FingerView(TEMPLATE, position=FingerPosition.LEFT_RING), FingerView(TEMPLATE, view_number=1)]
    assert iso19794_2.loads(formats.dumps(views, "iso")) == views
    assert ansi378.loads(formats.dumps(views, "ansi")) == views


@pytest.mark.parametrize(("name", "module", "prefix"), [("iso", iso19794_2, 12), ("ansi", ansi378, 14)])
def test_record_without_views_is_rejected(name: str, module, prefix: int) -> None:
    data = formats.dumps(TEMPLATE, name)
    data = with_length(module, data[:prefix + 10] + b"\x00\x00")  # view count 0, nothing after
    assert module.loads(data) == []
    with pytest.raises(InvalidTemplateError, match="no finger view"):
        formats.loads(data, name)


@pytest.mark.parametrize("name", ["NATIVE", "iso19794-2", "", "wsq"])
def test_unknown_format_name(name: str) -> None:
    with pytest.raises(InvalidParameterError, match="format must be one of"):
        formats.dumps(TEMPLATE, name)
    with pytest.raises(InvalidParameterError, match="format must be one of"):
        formats.loads(b"", name)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: formats.dumps(TEMPLATE, "native", representation="m1"), "takes no option representation"),
    (lambda: formats.dumps(TEMPLATE, "xyt", width=64), "takes no option width"),
    (lambda: formats.loads(b"", "iso", width=64), "takes no option width"),
    (lambda: formats.loads(b"", "xyt", height=64), "needs option width"),
    (lambda: formats.loads(b"", "xyt"), "needs option height, width"),
    (lambda: formats.dumps([FingerView(TEMPLATE)], "native"), "stores one Template"),
    (lambda: formats.dumps(FingerView(TEMPLATE), "xyt"), "stores one Template"),
])
def test_bad_options(call, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_native_version_error_passes_through() -> None:
    data = (GOLDEN / "native_v1.bsmt").read_bytes()
    data = data[:4] + b"\x02\x00" + data[6:]
    assert formats.detect_format(data) == "native"
    with pytest.raises(TemplateVersionError):
        formats.loads(data, "native")


@pytest.mark.parametrize(("name", "expected"), [
    ("native_v1.bsmt", "native"), ("iso19794_2_2005.fmr", "iso"), ("ansi378_2004.fmr", "ansi"),
    ("nist.xyt", "xyt"), ("m1.xyt", "xyt"),
])
def test_detect_golden_files(name: str, expected: str) -> None:
    assert name in GOLDEN_FILES
    assert formats.detect_format((GOLDEN / name).read_bytes()) == expected


@pytest.mark.parametrize("data", [b"", b"FMR\x00 20\x00", b"FMR\x00 20\x00\x00\x00\x00\x00\x00",
                                  b"\x89PNG\r\n", b"   \n", b"x y t q\n", "10 20 30".encode("utf-16")])
def test_detect_rejects(data: bytes) -> None:
    with pytest.raises(InvalidTemplateError):
        formats.detect_format(data)


@ROUND_TRIP
@given(views=view_lists(max_views=3, max_minutiae=10))
def test_detect_never_confuses_iso_and_ansi(views: list[FingerView]) -> None:
    assert formats.detect_format(iso19794_2.dumps(views)) == "iso"
    assert formats.detect_format(ansi378.dumps(views)) == "ansi"


@FUZZ
@given(data=st.one_of(st.binary(max_size=64), st.binary(max_size=32).map(lambda tail: b"FMR\x00 20\x00" + tail)))
def test_fuzz_detect_format(data: bytes) -> None:
    try:
        name = formats.detect_format(data)
    except InvalidTemplateError:
        return
    assert name in formats.FORMATS
    try:
        formats.loads(data, name, **OPTIONS.get(name, {}))
    except InvalidTemplateError:
        pass
