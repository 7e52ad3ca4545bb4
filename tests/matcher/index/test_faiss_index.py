"""The FAISS candidate index (``Gallery(mode="index")``) against the exhaustive reference."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from matcher import FingerPosition, InvalidParameterError, Template
from matcher.index import CorruptGalleryError, Gallery, UnknownIdError
from matcher.index.faiss_index import MINUTIA_BITS, MccIndex, _by_score, _ivf, _ranked
from matcher.index.hamming import knn_reference, row_scores_reference
from matcher.matching import Matcher, _native, reference, threshold_for_fmr
from matcher.params import IndexParams
from tests.matcher.index._files import rewrite_header

RI, LI = FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX


def _build(enrolled: list[Template], mode: str, params: IndexParams | None = None) -> Gallery:
    gallery = Gallery(mode=mode, index_params=params)
    for i, template in enumerate(enrolled):
        gallery.add(f"s{i}", {RI if i % 2 else LI: template})
    return gallery


@pytest.fixture(scope="module")
def exhaustive(enrolled: list[Template]) -> Gallery:
    return _build(enrolled, "exhaustive")


@pytest.fixture(scope="module")
def indexed(enrolled: list[Template]) -> Gallery:
    return _build(enrolled, "index", IndexParams(shortlist=25))


def test_index_finds_what_exhaustive_finds(exhaustive: Gallery, indexed: Gallery, probes: list[Template]) -> None:
    # Mates found with a score a real deployment would accept (FMR 1e-3); weaker ones rank first
    # in a 200-finger gallery by luck only, and lose to impostors in large ones.
    confident = threshold_for_fmr(1e-3)
    agree = found = 0
    for i, probe in enumerate(probes[:100]):
        best = exhaustive.search(probe, k=1)[0]
        if best.subject != f"s{i}" or best.score < confident:
            continue
        found += 1
        top = indexed.search(probe, k=1)
        if top and top[0].subject == best.subject:
            agree += 1
            assert top[0].score == pytest.approx(best.score, abs=1e-6)  # same matcher re-scores
    assert found >= 80 and agree >= 0.97 * found


def test_index_shortlist_bounds_the_comparisons(indexed: Gallery, probes: list[Template]) -> None:
    assert len(indexed.search(probes[3], k=200)) <= 25
    assert indexed.index_nbytes() > 0 and indexed.nbytes() > indexed.index_nbytes()


def test_remove_replace_and_positions(enrolled: list[Template], probes: list[Template]) -> None:
    gallery = _build(enrolled[:40], "index")
    assert gallery.search(probes[5], k=1)[0].subject == "s5"
    gallery.remove("s5")
    assert all(c.subject != "s5" for c in gallery.search(probes[5], k=40))
    with pytest.raises(UnknownIdError):
        gallery.remove("s5")
    gallery.add("s5-again", {RI: enrolled[5]})
    assert gallery.search(probes[5], k=1)[0].subject == "s5-again"
    gallery.replace("s5-again", {RI: enrolled[6]})
    assert gallery.search(probes[6], k=2)[0].subject in {"s6", "s5-again"}
    assert {c.subject for c in gallery.search(probes[6], k=2)} == {"s6", "s5-again"}
    assert all(c.finger == LI for c in gallery.search(probes[8], k=10, fingers=LI))


def test_growing_past_the_flat_limit_switches_to_ivf(enrolled: list[Template], probes: list[Template]) -> None:
    params = IndexParams(flat_max_codes=2000, lists_per_sqrt_code=1.0, train_codes_per_list=20, probe_lists=8)
    gallery = _build(enrolled, "index", params)
    source = gallery._source
    assert isinstance(source, MccIndex) and source.factory.startswith("BIVF")
    codes = source.codes
    hits = sum(gallery.search(probes[i], k=1)[0].subject == f"s{i}" for i in range(50))
    assert hits >= 40
    gallery.remove("s0")
    assert source.codes < codes
    gallery.retrain()
    assert gallery._source.codes == source.codes


def _exact(source: MccIndex, probe: Template, k: int, lists: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The reference for the second pass's scan: every stored code (or the codes of each probe
    code's ``lists`` nearest IVF lists) compared in numpy: the ``k`` nearest by (distance, id),
    and the row scores."""
    values, usable, _ = _native.cylinders_batch(source._cylinders, [probe], 1)
    codes = source._codes(values[usable])
    assignment = None if lists is None else _ivf(source._index).quantizer.search(codes, lists)[1]
    stored = source._inverted_lists() if _ivf(source._index) else [source._stored()]
    return (knn_reference(stored, codes, k, assignment)[0],
            row_scores_reference(stored, codes, source._records.next_row, MINUTIA_BITS, assignment))


def _deep_scan(source: MccIndex, probe: Template, k: int) -> tuple[np.ndarray, np.ndarray]:
    values, usable, _ = _native.cylinders_batch(source._cylinders, [probe], 1)
    return source._deep_scan(source._codes(values[usable]), k)


def _assert_scan(found: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(found[0], expected[0])
    np.testing.assert_array_equal(found[1], expected[1])


def test_second_pass_scan_is_exact_within_its_budget(enrolled: list[Template], probes: list[Template]) -> None:
    base = dict(flat_max_codes=2000, lists_per_sqrt_code=1.0, train_codes_per_list=20, probe_lists=2)
    every = _build(enrolled, "index", IndexParams(**base))._source
    assert isinstance(every, MccIndex) and every.factory.startswith("BIVF") and faiss_lists(every) > 16
    lists = faiss_lists(every)
    budget = _build(enrolled, "index", IndexParams(**base, second_pass_scan_codes=every.codes // 4))._source
    fixed = _build(enrolled, "index", IndexParams(**base, second_pass_probe_lists=3))._source
    flat = _build(enrolled[:40], "index")._source
    assert flat.factory.startswith("IDMap")
    for probe in probes[:4]:
        # Every code, not FAISS's approximate list assignment (the first pass scans 2 lists).
        _assert_scan(_deep_scan(every, probe, 40), _exact(every, probe, 40))
        assert faiss_nprobe(every) == 2
        _assert_scan(_deep_scan(budget, probe, 40), _exact(budget, probe, 40, -(-lists // 4)))
        _assert_scan(_deep_scan(fixed, probe, 40), _exact(fixed, probe, 40, 3))
        _assert_scan(_deep_scan(flat, probe, 40), _exact(flat, probe, 40))
    # Changing the index drops the native view of its lists; the next search reads them again.
    for params in (IndexParams(**base), IndexParams()):       # an inverted file, a flat index
        gallery = _build(enrolled[:150], "index", params)
        source = gallery._source
        before = _deep_scan(source, enrolled[160], 5)
        assert source._lists is not None
        gallery.add("late", {RI: enrolled[160]})
        assert source._lists is None
        after = _deep_scan(source, enrolled[160], 5)
        _assert_scan(after, _exact(source, enrolled[160], 5))
        row = gallery._records.rows_of("late")[RI]
        assert (after[0][:, 0] >> MINUTIA_BITS == row).any() and not (before[0] >> MINUTIA_BITS == row).any()
        assert len(after[1]) == row + 1 and after[1].argmax() == row and len(before[1]) == row


def test_ties_in_votes_go_to_the_nearer_codes_then_the_older_row() -> None:
    row = lambda r, m=0: (r << MINUTIA_BITS) | m   # noqa: E731
    labels = np.array([[row(7), row(3), row(5, 1), row(5, 2)],
                       [row(9), row(5), row(3), -1],
                       [row(8), row(4), row(6), row(1)]])
    # Rows 3 and 5 have two votes each, at positions 1 + 2 and 2 + 1 (equally near: the older first);
    # the rest one each, the nearer first: row 1, the oldest, is last (position 3).
    assert _ranked(labels).tolist() == [3, 5, 7, 8, 9, 4, 6, 1]


def test_rows_by_score_largest_first_ties_to_the_older_row() -> None:
    scores = np.array([0, 3, 5, 3, 0, 5, 1, 3], np.int32)
    assert _by_score(scores, None).tolist() == [2, 5, 1, 3, 7, 6]          # 0: not scored
    rng = np.random.default_rng(5)
    for _ in range(200):       # the partition's first `count` are the full order's (many ties)
        scores = rng.integers(0, 6, int(rng.integers(0, 50))).astype(np.int32)
        full = _by_score(scores, None)
        for count in (0, 1, 2, 5, 17, 60):
            assert _by_score(scores, count).tolist() == full[:count].tolist()


def faiss_nprobe(source: MccIndex) -> int:
    return int(_ivf(source._index).nprobe)


def faiss_lists(source: MccIndex) -> int:
    return int(_ivf(source._index).nlist)


def test_index_round_trip_keeps_the_index(indexed: Gallery, probes: list[Template], tmp_path: Path) -> None:
    path = tmp_path / "g.bsmg"
    indexed.save(path)
    loaded = Gallery.load(path)
    assert loaded.mode == "index" and loaded.index_nbytes() == indexed.index_nbytes()
    for probe in probes[:10]:
        assert loaded.search(probe, k=3) == indexed.search(probe, k=3)
    header = json.loads(path.read_bytes()[12:12 + struct.unpack_from("<I", path.read_bytes(), 8)[0]])
    assert header["index"]["factory"] == "IDMap,BFlat" and header["index"]["params"]["shortlist"] == 25
    loaded.add("late", {RI: probes[150]})  # rows continue after the loaded ones
    assert loaded.search(probes[150], k=1)[0].subject == "late"
    exhaustive = Gallery.load(path, mode="exhaustive")
    assert exhaustive.mode == "exhaustive" and len(exhaustive) == len(indexed)


def test_index_that_disagrees_with_its_header_is_rejected(indexed: Gallery, tmp_path: Path) -> None:
    path = tmp_path / "g.bsmg"
    indexed.save(path)
    rewrite_header(path, lambda header: header["index"].update(codes=header["index"]["codes"] + 1))
    with pytest.raises(CorruptGalleryError, match="candidate index"):
        Gallery.load(path)


def test_fixed_weight_codes_round_trip_and_older_files_keep_threshold_codes(
        enrolled: list[Template], probes: list[Template], tmp_path: Path) -> None:
    fixed = _build(enrolled[:60], "index", IndexParams(cylinder_top_cells=32, shortlist=10))
    path = tmp_path / "g.bsmg"
    fixed.save(path)
    loaded = Gallery.load(path)
    assert loaded._source.params.cylinder_top_cells == 32  # type: ignore[attr-defined]
    assert [c.subject for c in loaded.search(enrolled[7], k=1)] == ["s7"]
    # A file written before the field existed holds threshold codes, and says so by omission.
    threshold = _build(enrolled[:60], "index", IndexParams(cylinder_top_cells=0, shortlist=10))
    threshold.save(path)
    rewrite_header(path, lambda header: header["index"]["params"].pop("cylinder_top_cells"))
    old = Gallery.load(path)
    assert old._source.params.cylinder_top_cells == 0  # type: ignore[attr-defined]
    assert old.search(probes[7], k=3) == threshold.search(probes[7], k=3)


def test_neighbours_grow_with_the_square_root_of_the_codes(enrolled: list[Template]) -> None:
    small = _build(enrolled[:50], "index", IndexParams(neighbours=20))
    assert small._source.neighbours == 20  # type: ignore[attr-defined]
    codes = small._source.codes  # type: ignore[attr-defined]
    grown = _build(enrolled[:50], "index", IndexParams(neighbours=20, neighbours_codes=codes // 4))
    assert grown._source.neighbours == 40  # type: ignore[attr-defined]


def test_an_index_naming_rows_the_gallery_lacks_is_a_typed_error(enrolled: list[Template],
                                                                  probes: list[Template]) -> None:
    # A sealed gallery file whose FAISS ids name missing rows is not caught at load (checking
    # every id would cost seconds at 1M); search must still fail with a MatcherError.
    gallery = _build(enrolled[:6], "index")
    source = gallery._source
    codes, _ = source._gallery_codes([0], [enrolled[0]])
    source._index.add_with_ids(codes, np.full(len(codes), 999 << 8, dtype=np.int64) + np.arange(len(codes)))
    with pytest.raises(CorruptGalleryError, match="row 999"):
        gallery.search(enrolled[0], k=3)
    assert len(gallery) == 6 and gallery.get("s0")    # the records are untouched


def test_second_pass_only_without_a_confident_mate(enrolled: list[Template], probes: list[Template]) -> None:
    # A shortlist of one finger: the first pass scores one candidate, the second up to 30 more by
    # votes and up to 10 more by row scores.
    params = IndexParams(shortlist=1, second_pass_shortlist=30, second_pass_score_shortlist=0)
    gallery = _build(enrolled[:60], "index", params)
    assert gallery.search(enrolled[7], k=1)[0].subject == "s7"   # itself, score 1: confident
    assert gallery.second_passes == 0
    found = gallery.search(probes[100], k=100)                    # finger 100 is not enrolled
    assert gallery.second_passes == 1
    assert 1 < len(found) <= 31 and len({c.subject for c in found}) == len(found)
    assert all(c.score < threshold_for_fmr(params.second_pass_fmr) for c in found)
    both = _build(enrolled[:60], "index", dataclasses.replace(params, second_pass_score_shortlist=10))
    assert len(found) < len(both.search(probes[100], k=100)) <= 41
    scores = _build(enrolled[:60], "index", dataclasses.replace(params, second_pass_shortlist=0,
                                                                 second_pass_score_shortlist=10))
    assert 1 < len(scores.search(probes[100], k=100)) <= 11 and scores.second_passes == 1
    single = _build(enrolled[:60], "index", dataclasses.replace(params, second_pass_shortlist=0))
    assert len(single.search(probes[100], k=100)) == 1 and single.second_passes == 0


def test_second_pass_shortlists_the_largest_row_scores(enrolled: list[Template], probes: list[Template]) -> None:
    params = IndexParams(shortlist=1, second_pass_shortlist=0, second_pass_score_shortlist=7)
    gallery = _build(enrolled[:60], "index", params)
    source = gallery._source
    for probe in probes[100:103]:
        scores = _exact(source, probe, 1)[1]
        order = np.lexsort((np.arange(len(scores)), -scores))        # largest first, ties: the older
        rows, _ = source.candidates(probe, None, deep=True)
        assert rows == order[:7].tolist() and (scores[rows] > 0).all()
        right = [r for r in order.tolist() if gallery._records.owner(r)[1] == RI][:7]
        assert source.candidates(probe, [RI], deep=True, scored={right[0]})[0] == right[1:]


def test_second_pass_finds_mates_the_first_shortlist_missed(enrolled: list[Template], probes: list[Template]) -> None:
    for params in (IndexParams(shortlist=1, second_pass_shortlist=30, second_pass_score_shortlist=0),
                   IndexParams(shortlist=1, second_pass_shortlist=0, second_pass_score_shortlist=30)):
        deep = _build(enrolled[:60], "index", params)
        single = _build(enrolled[:60], "index", dataclasses.replace(params, second_pass_shortlist=0,
                                                                    second_pass_score_shortlist=0))
        hits = {name: [g.search(p, k=1)[0].subject == f"s{i}" for i, p in enumerate(probes[:60])]
                for name, g in (("deep", deep), ("single", single))}
        assert all(d or not s for d, s in zip(hits["deep"], hits["single"], strict=True))  # nothing lost
        assert sum(hits["deep"]) > sum(hits["single"])


def test_bad_index_params() -> None:
    with pytest.raises(InvalidParameterError, match="shortlist"):
        IndexParams(shortlist=0)
    for bad in ({"second_pass_fmr": 0.0}, {"second_pass_fmr": 2.0}, {"second_pass_depth": 0.5},
                {"second_pass_shortlist": -1}, {"second_pass_shortlist": 2.5}, {"second_pass_probe_lists": -1},
                {"second_pass_scan_codes": 0}, {"second_pass_score_shortlist": -1},
                {"second_pass_score_shortlist": 2.5}):
        with pytest.raises(InvalidParameterError, match="second_pass"):
            IndexParams(**bad)
    with pytest.raises(InvalidParameterError, match="index_params"):
        Gallery(mode="index", index_params={"shortlist": 3})  # type: ignore[arg-type]


def test_batch_kernels_match_their_references(enrolled: list[Template]) -> None:
    templates = [*enrolled[:6], Template.empty(width=300, height=400)]
    params = IndexParams().cylinder_params()
    values, usable, offsets = _native.cylinders_batch(params, templates, 2)
    for i, template in enumerate(templates):
        expected = reference.cylinders(template, params)
        assert np.array_equal(values[offsets[i]:offsets[i + 1]], expected.values)
        assert np.array_equal(usable[offsets[i]:offsets[i + 1]], expected.usable)
    matcher = Matcher(enrolled[0])
    batch = _native.score_batch(matcher._prepared, matcher.params, templates, 2)
    assert np.array_equal(batch, matcher.score_many(templates))
    probes = [Matcher(t) for t in enrolled[6:9]]
    matrix = _native.score_matrix([m._prepared for m in probes], matcher.params, templates, 2)
    assert np.array_equal(matrix, np.stack([m.score_many(templates) for m in probes]))
    other = dataclasses.replace(matcher.params, radius_px=60.0)
    with pytest.raises(ValueError, match="different matching parameters"):
        _native.score_batch(matcher._prepared, other, templates, 1)


def test_exhaustive_file_loads_as_an_index_gallery(exhaustive: Gallery, probes: list[Template],
                                                   tmp_path: Path) -> None:
    path = tmp_path / "exhaustive.bsmg"
    exhaustive.save(path)
    loaded = Gallery.load(path, mode="index")
    assert loaded.mode == "index" and len(loaded) == len(exhaustive) and loaded.index_nbytes() > 0
    assert loaded.search(probes[12], k=1)[0].subject == exhaustive.search(probes[12], k=1)[0].subject
