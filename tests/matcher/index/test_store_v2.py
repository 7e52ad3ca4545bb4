"""Gallery files of format version 2 (golden files in ``data/``) still load, and save as version 3.

The golden files were written by commit 36cc43c (the last to write version 2) with::

    def fill(g):
        g.add("subject 0 é", {RIGHT_INDEX: impression(6, 0, 0), LEFT_INDEX: impression(6, 1, 0)})
        g.add("b", {UNKNOWN: impression(6, 2, 0)})
        g.add("محمد/٤٢", [(LEFT_LITTLE, impression(6, 3, 0)), (RIGHT_THUMB, impression(6, 4, 0))])
        g.add("blank", {UNKNOWN: Template.empty(width=300, height=400, dpi=1000, image_quality=7)})
        g.remove("b")
        g.add("b", {RIGHT_MIDDLE: impression(6, 5, 0).take(slice(0, 20))})
        return g

    fill(Gallery()).save("gallery-v2-exhaustive.bsmg")
    fill(Gallery(mode="index", index_params=IndexParams(shortlist=5))).save("gallery-v2-index.bsmg")

(``impression`` from :mod:`datasets.synthetic.templates`), so rows have a gap (2) and a subject's
rows are not in position order (4, 3).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from matcher import FingerPosition as P
from matcher.index import CorruptGalleryError, Gallery
from matcher.index.records import Records

DATA = Path(__file__).parent / "data"
SUBJECTS = ["subject 0 é", "محمد/٤٢", "blank", "b"]
ROWS = {"subject 0 é": {P.RIGHT_INDEX: 0, P.LEFT_INDEX: 1}, "محمد/٤٢": {P.RIGHT_THUMB: 4, P.LEFT_LITTLE: 3},
        "blank": {P.UNKNOWN: 5}, "b": {P.RIGHT_MIDDLE: 6}}


def _rows(gallery: Gallery) -> dict[str, dict[P, int]]:
    records: Records = gallery._records
    return {subject: records.rows_of(subject) for subject in gallery}


@pytest.mark.parametrize("mode", ["exhaustive", "index"])
def test_version_2_file_loads(mode: str) -> None:
    data = (DATA / f"gallery-v2-{mode}.bsmg").read_bytes()
    assert struct.unpack_from("<H", data, 4)[0] == 2
    gallery = Gallery.load(DATA / f"gallery-v2-{mode}.bsmg")
    assert gallery.mode == mode and list(gallery) == SUBJECTS and gallery.templates == 6
    assert _rows(gallery) == ROWS  # kept: the stored candidate index names fingers by them
    blank = gallery.get("blank")[P.UNKNOWN]
    assert (len(blank), blank.width, blank.height, blank.dpi, blank.image_quality) == (0, 300, 400, 1000, 7)
    assert len(gallery.get("b")[P.RIGHT_MIDDLE]) == 20
    for subject in ("subject 0 é", "محمد/٤٢", "b"):
        for position, template in gallery.get(subject).items():
            best = gallery.search(template, k=1)[0]
            assert (best.subject, best.finger) == (subject, position) and best.score > 0.9
    assert gallery.mapped_nbytes() == 0  # version 2 is parsed into RAM


@pytest.mark.parametrize("mode", ["exhaustive", "index"])
def test_version_2_file_saves_as_version_3(mode: str, tmp_path: Path) -> None:
    old = Gallery.load(DATA / f"gallery-v2-{mode}.bsmg")
    old.save(tmp_path / "g.bsmg")
    assert struct.unpack_from("<H", (tmp_path / "g.bsmg").read_bytes(), 4)[0] == 3
    new = Gallery.load(tmp_path / "g.bsmg")
    assert list(new) == SUBJECTS and _rows(new) == ROWS and new.mapped_nbytes() > 0
    for subject in SUBJECTS:
        assert new.get(subject) == old.get(subject)
        for template in old.get(subject).values():
            assert new.search(template, k=4) == old.search(template, k=4)
    new.add("late", {P.LEFT_THUMB: old.get("b")[P.RIGHT_MIDDLE]})
    assert _rows(new)["late"] == {P.LEFT_THUMB: 7}  # rows continue after the loaded ones


@pytest.mark.parametrize(("offset", "message"), [(40, "checksum|header"), (300, "checksum|finger record"),
                                                 (-1, "checksum")])
def test_damaged_version_2_file_is_rejected(tmp_path: Path, offset: int, message: str) -> None:
    data = bytearray((DATA / "gallery-v2-index.bsmg").read_bytes())
    data[offset] ^= 0x04
    (tmp_path / "g.bsmg").write_bytes(bytes(data))
    with pytest.raises(CorruptGalleryError, match=message):
        Gallery.load(tmp_path / "g.bsmg")


@pytest.mark.parametrize("length", [7, 100, -33, -1])
def test_truncated_version_2_file_is_rejected(tmp_path: Path, length: int) -> None:
    (tmp_path / "g.bsmg").write_bytes((DATA / "gallery-v2-exhaustive.bsmg").read_bytes()[:length])
    with pytest.raises(CorruptGalleryError, match="truncated|checksum"):
        Gallery.load(tmp_path / "g.bsmg")
