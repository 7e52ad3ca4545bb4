"""A gallery loaded from a version-3 file: mapped columns and index, changes after loading, saved again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from matcher import FingerPosition, Template
from matcher.index import Gallery
from matcher.index.faiss_index import MccIndex
from matcher.params import IndexParams

RI, LI, RT = FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX, FingerPosition.RIGHT_THUMB
MODES = {"exhaustive": None, "flat index": IndexParams(shortlist=30),
         "ivf index": IndexParams(shortlist=30, flat_max_codes=2000, lists_per_sqrt_code=1.0,
                                  train_codes_per_list=20, probe_lists=8)}


def _build(enrolled: list[Template], params: IndexParams | None) -> Gallery:
    gallery = Gallery(mode="exhaustive" if params is None else "index", index_params=params)
    for i in range(0, 120, 2):
        gallery.add(f"s{i // 2}", {RI: enrolled[i], LI: enrolled[i + 1]})
    return gallery


def _changes(enrolled: list[Template]) -> list[Callable[[Gallery], None]]:
    """Removals and replacements of loaded subjects, additions and removals of new ones."""
    return [lambda g: g.remove("s3"),
            lambda g: g.replace("s7", {RT: enrolled[150]}),
            lambda g: g.add("new 1", {RI: enrolled[151], LI: enrolled[152]}),
            lambda g: g.add_many([("new 2", {LI: enrolled[153]}), ("new 3", {RI: enrolled[154]})]),
            lambda g: g.remove("new 2"),
            lambda g: g.remove("s0"),
            lambda g: g.add("s3", {RI: enrolled[6]})]  # an id enrolled again after its removal


def _assert_same(got: Gallery, expected: Gallery, probes: list[Template]) -> None:
    assert list(got) == list(expected) and got.templates == expected.templates
    for subject in expected:
        assert got.get(subject) == expected.get(subject)
    for probe in (probes[6], probes[15], probes[150], probes[151], {RI: probes[20], LI: probes[21]}):
        assert got.search(probe, k=5) == expected.search(probe, k=5)
        assert got.search(probe, k=5, fingers=[RI, RT]) == expected.search(probe, k=5, fingers=[RI, RT])


@pytest.mark.parametrize("kind", list(MODES))
def test_changes_after_load_then_save_and_load_again(kind: str, enrolled: list[Template], probes: list[Template],
                                                     tmp_path: Path) -> None:
    expected = _build(enrolled, MODES[kind])
    expected.save(tmp_path / "g.bsmg")
    loaded = Gallery.load(tmp_path / "g.bsmg")
    assert loaded.mode == expected.mode
    _assert_same(loaded, expected, probes)
    for change in _changes(enrolled):
        change(expected)
        change(loaded)
    _assert_same(loaded, expected, probes)
    loaded.save(tmp_path / "g.bsmg")  # over the file it was loaded from, still mapped
    _assert_same(loaded, expected, probes)
    again = Gallery.load(tmp_path / "g.bsmg")
    _assert_same(again, expected, probes)
    assert list(again)[:2] == ["s1", "s2"] and list(again)[-2:] == ["new 3", "s3"]


def test_loaded_index_is_a_view_of_the_file_until_changed(enrolled: list[Template], probes: list[Template],
                                                          tmp_path: Path) -> None:
    built = _build(enrolled, MODES["ivf index"])
    assert isinstance(built._source, MccIndex) and built._source.factory.startswith("BIVF")
    built.save(tmp_path / "g.bsmg")
    loaded = Gallery.load(tmp_path / "g.bsmg")
    source = loaded._source
    assert isinstance(source, MccIndex) and source.factory == built._source.factory
    assert source.mapped_nbytes() > source.nbytes() > 0 and loaded.index_nbytes() == built.index_nbytes()
    assert loaded.mapped_nbytes() > source.mapped_nbytes()  # the columns and the index
    assert loaded.nbytes() < built.nbytes() - built.index_nbytes()  # neither counted as RAM
    assert loaded.search(probes[4], k=3) == built.search(probes[4], k=3)
    loaded.save(tmp_path / "copy.bsmg")  # the mapped section is written as it is
    assert (tmp_path / "copy.bsmg").read_bytes() == (tmp_path / "g.bsmg").read_bytes()
    loaded.remove("s2")  # the first change copies the index into RAM
    assert source.mapped_nbytes() == 0 and loaded.nbytes() > loaded.index_nbytes()
    built.remove("s2")
    assert loaded.search(probes[4], k=3) == built.search(probes[4], k=3)
    loaded.retrain()
    assert loaded._source.codes == built._source.codes


def test_templates_are_made_when_read_and_kept_only_by_exhaustive_search(enrolled: list[Template],
                                                                         probes: list[Template],
                                                                         tmp_path: Path) -> None:
    _build(enrolled, None).save(tmp_path / "g.bsmg")
    loaded = Gallery.load(tmp_path / "g.bsmg")
    before = loaded.nbytes()
    assert loaded.get("s1")[RI] == enrolled[2] and loaded.get("s1")[RI] is not loaded.get("s1")[RI]
    assert loaded.nbytes() == before
    loaded.search(probes[0], k=1)  # every finger's template is kept, with its cached search form
    assert loaded.nbytes() > before
    assert loaded.get("s1")[RI] is loaded.get("s1")[RI]
    records = loaded._records
    with pytest.raises(KeyError):
        records.owners([10_000])
    assert records.owners([3, 2]) == [("s1", LI), ("s1", RI)]
    loaded.remove("s1")
    with pytest.raises(KeyError):
        records.owner(2)
    assert records.nbytes() < loaded.nbytes()
