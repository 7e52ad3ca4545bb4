"""Transparency is a no-op by default and captures by key when asked."""

from matcher import transparency


def test_emit_without_capture_does_nothing():
    assert not transparency.enabled()
    transparency.emit("anything", 1)


def test_capture_collects_and_filters_keys_and_restores():
    with transparency.capture(keys={"a"}) as data:
        assert transparency.enabled()
        transparency.emit("a", 1)
        transparency.emit("b", 2)
    assert data == {"a": 1}
    assert not transparency.enabled()


def test_nested_captures_are_independent():
    with transparency.capture() as outer:
        transparency.emit("x", 1)
        with transparency.capture() as inner:
            transparency.emit("y", 2)
        transparency.emit("z", 3)
    assert outer == {"x": 1, "z": 3} and inner == {"y": 2}


def test_enabled_tells_whether_a_key_is_kept():
    assert not transparency.enabled("mask")
    with transparency.capture(keys={"mask"}):
        assert transparency.enabled() and transparency.enabled("mask")
        assert not transparency.enabled("skeleton")
    with transparency.capture():
        assert transparency.enabled("skeleton")
