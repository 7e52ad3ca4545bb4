"""Exhaustive search: mates ranked first, fusion of several fingers, filters, validation."""

from __future__ import annotations

import math

import pytest

from matcher import FingerPosition, InvalidParameterError, InvalidTemplateError, Template
from matcher.index import Candidate, Gallery
from matcher.matching import Matcher, fmr_for_score, fuse

RI, LI, RT = FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX, FingerPosition.RIGHT_THUMB


@pytest.fixture(scope="module")
def gallery(enrolled: list[Template]) -> Gallery:
    """Subject ``f{i:03d}`` holds finger i at RIGHT_INDEX (even i) or LEFT_INDEX (odd i)."""
    gallery = Gallery()
    for i, template in enumerate(enrolled):
        gallery.add(f"f{i:03d}", {RI if i % 2 == 0 else LI: template})
    return gallery


def test_rank1_on_synthetic_gallery(gallery: Gallery, probes: list[Template]) -> None:
    hits = 0
    for i, probe in enumerate(probes):
        result = gallery.search(probe, k=10)
        assert len(result) == 10
        hits += result[0].subject == f"f{i:03d}"
    assert hits >= 0.97 * len(probes)


def test_candidates_are_sorted_and_calibrated(gallery: Gallery, probes: list[Template],
                                              enrolled: list[Template]) -> None:
    result = gallery.search(probes[0], k=len(gallery) + 5)
    assert len(result) == len(gallery)  # fewer than k subjects
    keys = [(-c.score, c.subject) for c in result]
    assert keys == sorted(keys)
    best = result[0]
    assert isinstance(best, Candidate)
    assert best.subject == "f000" and best.finger is RI
    assert best.score == pytest.approx(Matcher(probes[0]).score(enrolled[0]), abs=1e-6)
    assert best.fmr == fmr_for_score(best.score)
    with pytest.raises(AttributeError):
        best.score = 0.0  # type: ignore[misc]


def test_ties_are_broken_by_subject_id(enrolled: list[Template]) -> None:
    gallery = Gallery()
    for subject in ("c", "a", "b"):
        gallery.add(subject, {RI: enrolled[7]})
    result = gallery.search(enrolled[7], k=3)
    assert [c.subject for c in result] == ["a", "b", "c"]
    assert len({c.score for c in result}) == 1


def test_position_filters(gallery: Gallery, probes: list[Template]) -> None:
    odd_probe = probes[1]  # its mate f001 is stored at LEFT_INDEX
    only_right = gallery.search(odd_probe, k=200, fingers=RI)
    assert "f001" not in {c.subject for c in only_right}
    assert {c.finger for c in only_right} == {RI} and len(only_right) == 100
    assert gallery.search(odd_probe, k=1, fingers=[LI, RT])[0].subject == "f001"
    assert gallery.search({LI: odd_probe}, k=1, fingers="same")[0].subject == "f001"
    assert "f001" not in {c.subject for c in gallery.search({RI: odd_probe}, k=200, fingers="same")}
    assert gallery.search(odd_probe, k=5, fingers=[RT]) == []  # no thumbs enrolled


def test_multi_finger_fusion_prefers_two_matching_fingers(enrolled: list[Template],
                                                          probes: list[Template]) -> None:
    gallery = Gallery()
    gallery.add("both", {RI: enrolled[10], LI: enrolled[11]})
    gallery.add("one", {RI: probes[10], LI: enrolled[12]})  # the probe's own right index
    gallery.add("none", {RI: enrolled[13], LI: enrolled[14]})
    probe = {RI: probes[10], LI: probes[11]}
    result = gallery.search(probe, k=3, fingers="same")
    assert [c.subject for c in result] == ["both", "one", "none"]
    s_ri = Matcher(probes[10]).score(enrolled[10])
    s_li = Matcher(probes[11]).score(enrolled[11])
    assert result[0].score == pytest.approx(fuse([s_ri, s_li]), abs=1e-6)
    # beyond the calibration table fusion saturates at the best single score (calibration.py)
    assert result[0].score >= max(s_ri, s_li) - 1e-6
    assert result[0].fmr < result[1].fmr
    # one perfect finger and one impostor finger: the impostor finger weighs the subject down
    perfect = Matcher(probes[10]).score(probes[10])
    impostor = Matcher(probes[11]).score(enrolled[12])
    assert result[1].score == pytest.approx(fuse([perfect, impostor]), abs=1e-6)
    assert result[1].score < perfect
    assert result[1].finger is RI


def test_probe_finger_with_no_comparison_counts_as_zero(enrolled: list[Template],
                                                        probes: list[Template]) -> None:
    gallery = Gallery()
    gallery.add("a", {RI: enrolled[20]})  # no left index enrolled
    result = gallery.search({RI: probes[20], LI: probes[21]}, k=1, fingers="same")
    score = Matcher(probes[20]).score(enrolled[20])
    assert result[0].score == pytest.approx(fuse([score, 0.0]), abs=1e-6)
    assert result[0].score < score


def test_empty_gallery_and_empty_probe() -> None:
    empty = Template.empty(width=300, height=400)
    assert Gallery().search(empty) == []
    gallery = Gallery()
    gallery.add("blank", {RI: empty})
    (candidate,) = gallery.search(empty, k=1)
    assert candidate.score == 0.0 and math.isclose(candidate.fmr, 1.0)


@pytest.mark.parametrize("k", [0, -1, 1.5, "3", True, None, 10**9])
def test_invalid_k(gallery: Gallery, probes: list[Template], k: object) -> None:
    with pytest.raises(InvalidParameterError, match="k must be an integer"):
        gallery.search(probes[0], k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize(("probe", "fingers", "error", "message"), [
    ("probe", None, InvalidParameterError, "got str"),
    ({}, None, InvalidParameterError, "probe is empty"),
    ({RI: "x"}, None, InvalidTemplateError, "probe\\[RIGHT_INDEX\\]"),
    (None, "same", InvalidParameterError, "known positions"),
    ({RI: None}, "any", InvalidParameterError, "fingers must be"),
    ({RI: None}, [], InvalidParameterError, "fingers is empty"),
    ({RI: None}, [12], InvalidParameterError, "got 12"),
    ({RI: None}, 3.5, InvalidParameterError, "fingers must be"),
])
def test_invalid_probe_or_fingers(gallery: Gallery, probes: list[Template], probe: object,
                                  fingers: object, error: type[Exception], message: str) -> None:
    if probe is None:
        probe = probes[0]
    elif isinstance(probe, dict) and list(probe.values()) == [None]:
        probe = {RI: probes[0]}
    with pytest.raises(error, match=message):
        gallery.search(probe, fingers=fingers)  # type: ignore[arg-type]


def test_threads_are_validated(gallery: Gallery, probes: list[Template]) -> None:
    with pytest.raises(InvalidParameterError, match="threads"):
        gallery.search(probes[0], threads=0)
    assert gallery.search(probes[0], k=3, threads=1) == gallery.search(probes[0], k=3)
