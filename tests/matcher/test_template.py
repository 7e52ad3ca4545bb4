"""Template invariants, immutability, equality and validation errors."""

import math

import numpy as np
import pytest

from matcher import FingerPosition, FingerView, InvalidTemplateError, MinutiaKind, Template


def make(**overrides):
    fields = dict(x=[10, 20, 30], y=[5, 6, 7], angle=[0.0, 1.0, 6.0], kind=[1, 2, 1],
                  quality=[90, 50, 10], width=100, height=80, dpi=500, image_quality=70)
    fields.update(overrides)
    return Template(**fields)


def test_arrays_have_the_documented_dtypes_and_are_read_only():
    t = make()
    assert (t.x.dtype, t.y.dtype, t.angle.dtype, t.kind.dtype, t.quality.dtype) == (
        np.int16, np.int16, np.float32, np.uint8, np.uint8)
    for array in (t.x, t.y, t.angle, t.kind, t.quality):
        with pytest.raises(ValueError):
            array[0] = 1
    with pytest.raises(AttributeError):
        t.width = 3  # type: ignore[misc]


def test_input_arrays_are_copied():
    x = np.array([1, 2, 3])
    t = make(x=x)
    x[0] = 99
    assert t.x[0] == 1


def test_angles_wrap_into_zero_two_pi():
    t = make(angle=[-0.5, 2 * math.pi, 7.0])
    assert np.all((t.angle >= 0) & (t.angle < 2 * math.pi))
    assert t.angle[0] == pytest.approx(2 * math.pi - 0.5, abs=1e-5)
    assert t.angle[1] == pytest.approx(0.0, abs=1e-6)


def test_trusted_construction_copies_and_freezes_like_the_checked_one():
    t = make()
    arrays = [np.array(a) for a in (t.x, t.y, t.angle, t.kind, t.quality)]
    trusted = Template._trusted(*arrays, width=t.width, height=t.height, dpi=t.dpi, image_quality=t.image_quality)
    assert trusted == t and hash(trusted) == hash(t) and repr(trusted) == repr(t)
    arrays[0][0] = 99                                   # a copy, read-only, same dtypes
    assert trusted.x[0] == 10
    for mine, theirs in zip((trusted.x, trusted.y, trusted.angle, trusted.kind, trusted.quality),
                            (t.x, t.y, t.angle, t.kind, t.quality), strict=True):
        assert mine.dtype == theirs.dtype and not mine.flags.writeable


def test_equality_hash_len_nbytes():
    assert make() == make()
    assert hash(make()) == hash(make())
    assert make() != make(quality=[90, 50, 11])
    assert len(make()) == 3
    assert make().nbytes() == 3 * (2 + 2 + 4 + 1 + 1)


def test_empty_and_take():
    empty = Template.empty(width=10, height=10)
    assert len(empty) == 0 and empty.nbytes() == 0
    sub = make().take(np.array([True, False, True]))
    assert list(sub.x) == [10, 30] and sub.width == 100


@pytest.mark.parametrize("overrides, message", [
    (dict(x=[10, 20]), "y has 3 entries"),
    (dict(x=[10, 20, 100]), "x must be in 0..99"),
    (dict(y=[-1, 6, 7]), "y must be in"),
    (dict(kind=[1, 2, 3]), "kind must be in 0..2"),
    (dict(quality=[101, 50, 10]), "quality must be in 0..100"),
    (dict(angle=[0.0, float("nan"), 1.0]), "angle must be finite"),
    (dict(dpi=100), "dpi must be in 250..1000"),
    (dict(width=0), "width, height"),
    (dict(image_quality=101), "image_quality"),
    (dict(width=1.5), "width must be an integer"),
    (dict(x=["a", "b", "c"]), "x must be numeric"),
    (dict(x=[[1, 2, 3]]), "x must be one-dimensional"),
])
def test_invalid_templates_are_rejected_with_a_named_error(overrides, message):
    with pytest.raises(InvalidTemplateError, match=message):
        make(**overrides)


def test_too_many_minutiae():
    n = 256
    with pytest.raises(InvalidTemplateError, match="too many minutiae"):
        Template(x=np.zeros(n, int), y=np.zeros(n, int), angle=np.zeros(n), kind=np.ones(n, int),
                 quality=np.zeros(n, int), width=10, height=10)


def test_enums_use_iso_codes():
    assert (MinutiaKind.ENDING, MinutiaKind.BIFURCATION) == (1, 2)
    assert FingerPosition.RIGHT_INDEX == 2 and FingerPosition.LEFT_LITTLE == 10


def test_finger_view_validation():
    view = FingerView(make(), position=2)
    assert view.position is FingerPosition.RIGHT_INDEX and view.finger_quality == 70
    with pytest.raises(InvalidTemplateError, match="position"):
        FingerView(make(), position=11)
    with pytest.raises(InvalidTemplateError, match="view_number"):
        FingerView(make(), view_number=16)
    with pytest.raises(InvalidTemplateError, match="template must be a Template"):
        FingerView("not a template")  # type: ignore[arg-type]
