"""Gallery records: add, remove, replace, get, ids and their errors."""

from __future__ import annotations

import pytest

from matcher import FingerPosition, InvalidParameterError, InvalidTemplateError, MatcherError, Template
from matcher.index import DuplicateIdError, Gallery, UnknownIdError

RI, LI = FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX


def test_add_get_len_contains(enrolled: list[Template]) -> None:
    gallery = Gallery()
    assert len(gallery) == 0 and gallery.templates == 0 and "a" not in gallery
    gallery.add("a", {RI: enrolled[0], LI: enrolled[1]})
    gallery.add("b", [(2, enrolled[2])])  # pairs, integer position codes
    assert len(gallery) == 2 and gallery.templates == 3
    assert "a" in gallery and "b" in gallery and "c" not in gallery and 3 not in gallery
    assert list(gallery) == ["a", "b"]
    assert gallery.get("a") == {RI: enrolled[0], LI: enrolled[1]}
    assert gallery.get("b") == {RI: enrolled[2]}
    assert all(type(p) is FingerPosition for p in gallery.get("b"))
    got = gallery.get("a")
    got.clear()  # a copy: the gallery is not changed through it
    assert gallery.templates == 3


def test_remove_and_replace(enrolled: list[Template]) -> None:
    gallery = Gallery()
    gallery.add("a", {RI: enrolled[0]})
    gallery.add("b", {RI: enrolled[1]})
    gallery.remove("a")
    assert "a" not in gallery and len(gallery) == 1 and gallery.templates == 1
    gallery.add("a", {LI: enrolled[3]})  # an id can be enrolled again after removal
    gallery.replace("b", {RI: enrolled[4], LI: enrolled[5]})
    assert gallery.get("b") == {RI: enrolled[4], LI: enrolled[5]}
    assert gallery.templates == 3
    assert list(gallery) == ["a", "b"]


def test_unknown_and_duplicate_ids(enrolled: list[Template]) -> None:
    gallery = Gallery()
    gallery.add("a", {RI: enrolled[0]})
    with pytest.raises(DuplicateIdError, match="'a' is already enrolled"):
        gallery.add("a", {LI: enrolled[1]})
    assert gallery.get("a") == {RI: enrolled[0]}  # the failed add changed nothing
    for call in (gallery.remove, gallery.get, lambda s: gallery.replace(s, {RI: enrolled[1]})):
        with pytest.raises(UnknownIdError, match="'zz' is not enrolled") as info:
            call("zz")
        assert isinstance(info.value, MatcherError) and isinstance(info.value, KeyError)
    with pytest.raises(DuplicateIdError, match="RIGHT_INDEX twice"):
        gallery.add("b", [(RI, enrolled[1]), (2, enrolled[2])])
    assert "b" not in gallery


@pytest.mark.parametrize(("subject", "message"), [
    ("", "must not be empty"),
    ("x" * 65, "at most 64 characters"),
    ("ab\ncd", "printable"),
    ("ab\x00", "printable"),
    ("tab\there", "printable"),
    ("\ud800x", "printable"),
    (" lead", "whitespace"),
    ("trail ", "whitespace"),
    (42, "must be a str, got int"),
    (b"bytes", "must be a str, got bytes"),
    (None, "must be a str, got NoneType"),
])
def test_invalid_subject_ids(enrolled: list[Template], subject: object, message: str) -> None:
    gallery = Gallery()
    with pytest.raises(InvalidParameterError, match=message):
        gallery.add(subject, {RI: enrolled[0]})  # type: ignore[arg-type]
    assert len(gallery) == 0


def test_valid_subject_ids(enrolled: list[Template]) -> None:
    gallery = Gallery()
    for subject in ("1", "x" * 64, "ID 784-1987-1234567-1", "محمد/٤٢", "a b"):
        gallery.add(subject, {RI: enrolled[0]})
    assert len(gallery) == 5


@pytest.mark.parametrize(("fingers", "error", "message"), [
    ({}, InvalidParameterError, "empty"),
    ([], InvalidParameterError, "empty"),
    ({11: "t"}, InvalidParameterError, r"code 0\.\.10\), got 11"),
    ({"RIGHT_INDEX": "t"}, InvalidParameterError, "got 'RIGHT_INDEX'"),
    ({True: "t"}, InvalidParameterError, "got True"),
    ({RI: "not a template"}, InvalidTemplateError, "RIGHT_INDEX.*got str"),
    ([RI], InvalidParameterError, "pair"),
    ("RI", InvalidParameterError, "got str"),
    (None, InvalidParameterError, "got NoneType"),
])
def test_invalid_fingers(fingers: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Gallery().add("a", fingers)  # type: ignore[arg-type]


def test_at_most_ten_fingers(enrolled: list[Template]) -> None:
    gallery = Gallery()
    gallery.add("ten", {p: enrolled[p] for p in range(1, 11)})
    with pytest.raises(InvalidParameterError, match="11 fingers, at most 10"):
        gallery.add("eleven", {p: enrolled[p] for p in range(11)})
    assert gallery.templates == 10


def test_nbytes_grows_with_templates_and_shrinks_on_removal(enrolled: list[Template]) -> None:
    gallery = Gallery()
    empty = gallery.nbytes()
    for i in range(50):
        gallery.add(f"s{i}", {RI: enrolled[i]})
    full = gallery.nbytes()
    payload = sum(t.nbytes() for t in enrolled[:50])
    assert full - empty > payload  # templates plus their bookkeeping
    assert full - empty < payload + 50 * 2048  # bookkeeping stays small per template
    for i in range(50):
        gallery.remove(f"s{i}")
    assert gallery.nbytes() < empty + 50 * 200  # dicts keep some capacity, not the templates


def test_invalid_mode() -> None:
    with pytest.raises(InvalidParameterError, match="mode must be one of"):
        Gallery(mode="faiss")
