"""Gallery files (version 3): round trip, atomic writes, rejection of damaged files with typed errors."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from matcher import FingerPosition, InvalidParameterError, Template, TemplateVersionError
from matcher.index import CorruptGalleryError, Gallery, IndexParams, store
from tests.matcher.index._files import data_start, header_of, reseal, sections, with_header, with_raw_header

REPO = Path(__file__).resolve().parents[3]
RI, LI = FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX


@pytest.fixture(scope="module")
def gallery(enrolled: list[Template]) -> Gallery:
    gallery = Gallery()
    for i in range(0, 60, 2):
        gallery.add(f"subject {i // 2} é", {RI: enrolled[i], LI: enrolled[i + 1]})
    gallery.add("blank", {FingerPosition.UNKNOWN: Template.empty(width=300, height=400)})
    return gallery


@pytest.fixture(scope="module")
def saved(gallery: Gallery, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("saved") / "gallery.bsmg"
    gallery.save(path)
    return path.read_bytes()


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "g.bsmg"
    path.write_bytes(data)
    return path


def test_round_trip_keeps_records_and_search_results(gallery: Gallery, saved: bytes, tmp_path: Path,
                                                    probes: list[Template]) -> None:
    path = _write(tmp_path, saved)
    loaded = Gallery.load(path)
    assert list(loaded) == list(gallery) and loaded.templates == gallery.templates
    for subject in gallery:
        got, expected = loaded.get(subject), gallery.get(subject)
        assert got == expected  # Template equality: every field, arrays bit for bit
        for position, template in got.items():
            assert type(position) is FingerPosition
            for name in ("x", "y", "angle", "kind", "quality"):
                array = getattr(template, name)
                assert array.dtype == getattr(expected[position], name).dtype and not array.flags.writeable
    for probe in (probes[0], probes[7], {RI: probes[10], LI: probes[11]}):
        assert loaded.search(probe, k=5) == gallery.search(probe, k=5)
        assert loaded.search(probe, k=5, fingers=[LI]) == gallery.search(probe, k=5, fingers=[LI])
    assert loaded.search(probes[0], k=1)[0].subject == "subject 0 é"
    loaded.save(tmp_path / "again.bsmg")
    assert (tmp_path / "again.bsmg").read_bytes() == saved  # the writer is deterministic


def test_loaded_gallery_keeps_its_columns_mapped(gallery: Gallery, saved: bytes, tmp_path: Path) -> None:
    loaded = Gallery.load(_write(tmp_path, saved))
    assert loaded.mapped_nbytes() > 0 and gallery.mapped_nbytes() == 0
    assert loaded.nbytes() < gallery.nbytes()  # no template objects until a finger is read
    assert loaded.mapped_nbytes() < len(saved)


def test_layout_and_permissions(saved: bytes, gallery: Gallery, tmp_path: Path) -> None:
    magic, version, reserved, _ = struct.unpack_from("<4sHHI", saved)
    assert (magic, version, reserved) == (b"BSMG", 3, 0)
    header = header_of(saved)
    assert header["algorithm"] == "mcc16b-lgsr/1" and header["mode"] == "exhaustive" and header["index"] is None
    assert (header["subjects"], header["templates"]) == (31, 61)
    assert data_start(saved) % 64 == 0
    found = sections(saved)
    assert list(found) == ["subject_ids", "finger_start", "minutia_start", "position", "row", "width", "height",
                           "dpi", "image_quality", "x", "y", "angle", "kind", "quality"]
    assert all(offset % 64 == 0 for offset, _ in found.values())
    offset, size = found["subject_ids"]
    assert saved[offset:offset + size].decode().split("\n")[:2] == ["subject 0 é", "subject 1 é"]
    offset, size = found["x"]
    x = np.frombuffer(saved, "<i2", size // 2, offset)
    assert np.array_equal(x[:len(gallery.get("subject 0 é")[RI])], gallery.get("subject 0 é")[RI].x)
    gallery.save(tmp_path / "g.bsmg")
    assert (tmp_path / "g.bsmg").stat().st_mode & 0o777 == 0o600  # fingerprints are personal data


def test_empty_gallery_round_trip(tmp_path: Path) -> None:
    Gallery().save(tmp_path / "empty.bsmg")
    loaded = Gallery.load(tmp_path / "empty.bsmg")
    assert len(loaded) == 0 and loaded.search(Template.empty(width=10, height=10)) == []
    loaded.add("a", {RI: Template.empty(width=10, height=10)})
    loaded.save(tmp_path / "empty.bsmg")
    assert list(Gallery.load(tmp_path / "empty.bsmg")) == ["a"]


def test_failure_mid_write_keeps_the_previous_file(gallery: Gallery, saved: bytes, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, saved)
    bigger = Gallery.load(path)
    bigger.add("new", {RI: gallery.get("blank")[FingerPosition.UNKNOWN]})
    calls = []
    real_write = store._DataWriter.write

    def failing_write(self: store._DataWriter, data: object) -> None:
        calls.append(1)
        if len(calls) > 12:
            raise OSError(28, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(store._DataWriter, "write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        bigger.save(path)
    assert path.read_bytes() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.bsmg"]  # no temporary file left
    assert len(Gallery.load(path)) == len(gallery)
    assert len(bigger) == len(gallery) + 1 and bigger.search(gallery.get("blank")[FingerPosition.UNKNOWN], k=1)


def test_process_killed_mid_write_keeps_the_previous_file(saved: bytes, tmp_path: Path) -> None:
    path = _write(tmp_path, saved)
    script = textwrap.dedent(f"""
        import os
        from matcher.index import Gallery, store
        gallery = Gallery.load({str(path)!r})
        gallery.remove("blank")
        calls = []
        real_write = store._DataWriter.write
        def dying_write(self, data):
            calls.append(1)
            if len(calls) == 12:
                os._exit(9)  # no clean-up of any kind, like a power cut for this process
            real_write(self, data)
        store._DataWriter.write = dying_write
        gallery.save({str(path)!r})
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr.decode()
    assert path.read_bytes() == saved
    assert len(Gallery.load(path)) == 31  # a stale temporary file may remain; the gallery is intact


def test_flipped_byte_in_every_part_is_rejected(saved: bytes, tmp_path: Path) -> None:
    start = data_start(saved)
    header_end = 12 + struct.unpack_from("<I", saved, 8)[0]
    offsets = {"version": 5, "reserved": 6, "header length": 9, "header": 40, "padding": header_end,
               "chunk digest": -33, "final digest": -1}
    offsets.update({f"section {name}": offset + size // 2 for name, (offset, size) in sections(saved).items()})
    offsets["padding after subject_ids"] = sum(sections(saved)["subject_ids"])
    assert header_end < start and sum(sections(saved)["subject_ids"]) < sections(saved)["finger_start"][0]
    for part, offset in offsets.items():
        data = bytearray(saved)
        data[offset] ^= 0x01
        with pytest.raises((CorruptGalleryError, TemplateVersionError)) as info:
            Gallery.load(_write(tmp_path, bytes(data)))
        assert isinstance(info.value, CorruptGalleryError) or part == "version", part


def test_flipped_section_byte_names_the_section(saved: bytes, tmp_path: Path) -> None:
    offset, size = sections(saved)["angle"]
    data = bytearray(saved)
    data[offset + size - 1] ^= 0x80
    with pytest.raises(CorruptGalleryError, match=r"\(sections .*angle.*\) fail their SHA-256 checksum"):
        Gallery.load(_write(tmp_path, bytes(data)))


def test_every_flipped_byte_in_a_small_file_is_rejected(enrolled: list[Template], tmp_path: Path) -> None:
    small = Gallery()
    small.add("a", {RI: enrolled[0].take(slice(0, 3))})
    small.save(tmp_path / "small.bsmg")
    data = (tmp_path / "small.bsmg").read_bytes()
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= 0x10
        path = _write(tmp_path, bytes(damaged))
        with pytest.raises((CorruptGalleryError, TemplateVersionError)):
            Gallery.load(path)


@pytest.mark.parametrize("length", [0, 3, 4, 7, 12, 50, 400, -33, -32, -1])
def test_truncated_file_is_rejected(saved: bytes, tmp_path: Path, length: int) -> None:
    with pytest.raises(CorruptGalleryError, match="truncated|not a gallery|checksum"):
        Gallery.load(_write(tmp_path, saved[:length]))


def test_trailing_bytes_are_rejected(saved: bytes, tmp_path: Path) -> None:
    with pytest.raises(CorruptGalleryError, match="trailing"):
        Gallery.load(_write(tmp_path, saved + b"\0"))


@pytest.mark.parametrize("magic", [b"BSMT", b"\0\0\0\0", b"PK\x03\x04"])
def test_wrong_magic_is_rejected(saved: bytes, tmp_path: Path, magic: bytes) -> None:
    with pytest.raises(CorruptGalleryError, match="not a gallery file"):
        Gallery.load(_write(tmp_path, magic + saved[4:]))


@pytest.mark.parametrize("version", [0, 1, 4, 65535])
def test_unknown_version_is_rejected(saved: bytes, tmp_path: Path, version: int) -> None:
    data = saved[:4] + struct.pack("<H", version) + saved[6:]
    with pytest.raises(TemplateVersionError, match=f"version {version}, this build reads versions 2 and 3"):
        Gallery.load(_write(tmp_path, data))


@pytest.mark.parametrize(("change", "message"), [
    (lambda h: h.pop("templates"), "templates must be a count"),
    (lambda h: h.update(minutiae=-1), "minutiae must be a count"),
    (lambda h: h.update(subjects=30), "section table disagrees"),
    (lambda h: h["sections"][9].update(offset=h["sections"][9]["offset"] + 64), "section table disagrees"),
    (lambda h: h.update(index_bytes=64), "without an index header"),
    (lambda h: h.update(chunk_bytes=0), "chunk_bytes"),
    (lambda h: [h.update(subjects=32, subject_id_bytes=h["subject_id_bytes"] + 2),
                h["sections"][:] and h.update(sections=store._sections(32, 61, h["minutiae"],
                                                                       h["subject_id_bytes"], None))],
     "31 subject ids for 32 subjects"),
])
def test_inconsistent_header_is_rejected(saved: bytes, tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CorruptGalleryError, match=message):
        Gallery.load(_write(tmp_path, with_header(saved, change)))


@pytest.mark.parametrize(("header", "message"), [
    (b"not json", "not JSON"),
    (b"[]", "header format"),
    (b'{"format": "other"}', "header format"),
])
def test_unreadable_header_is_rejected(saved: bytes, tmp_path: Path, header: bytes, message: str) -> None:
    with pytest.raises(CorruptGalleryError, match=message):
        Gallery.load(_write(tmp_path, with_raw_header(saved, header)))


def _edited(saved: bytes, section: str, index: int, value: bytes) -> bytes:
    """``saved`` with the bytes at byte ``index`` of ``section`` replaced and every checksum re-sealed (a
    file that a faulty writer produced: only the content checks can catch it)."""
    offset, _ = sections(saved)[section]
    data = bytearray(saved)
    data[offset + index:offset + index + len(value)] = value
    return reseal(bytes(data))


@pytest.mark.parametrize(("section", "index", "value", "message"), [
    ("x", 0, struct.pack("<h", 400), "minutia x is outside"),  # templates of 400 x 500 pixels
    ("y", 4, struct.pack("<h", -1), "minutia y is outside"),
    ("angle", 4, struct.pack("<f", 2 * np.pi), "angle"),
    ("angle", 4, struct.pack("<f", -0.0), "angle"),
    ("angle", 4, struct.pack("<f", float("nan")), "angle"),
    ("kind", 0, b"\x03", "kind"),
    ("quality", 0, b"\x65", "quality"),
    ("dpi", 0, struct.pack("<H", 100), "dpi"),
    ("width", 2, struct.pack("<H", 0), "width and height"),
    ("image_quality", 0, b"\xff", "image quality"),
    ("position", 1, b"\x02", "positions are not distinct"),
    ("position", 0, b"\x0b", "not a FingerPosition"),
    ("row", 0, struct.pack("<q", 1), "rows must be distinct"),
    ("row", 0, struct.pack("<q", -5), "rows must be distinct"),
    ("finger_start", 8, struct.pack("<q", 0), "1 to 10 fingers"),
    ("minutia_start", 8, struct.pack("<q", 10**6), "minutiae each"),
    ("subject_ids", 0, b"\xff", "not UTF-8"),
    ("subject_ids", 0, b" ", "whitespace"),
    ("subject_ids", 0, b"\t", "printable"),
    ("subject_ids", 8, b"1", "stored twice"),
    ("subject_ids", 7, b"\n", "32 subject ids for 31 subjects"),
])
def test_content_that_breaks_an_invariant_is_rejected(saved: bytes, tmp_path: Path, section: str, index: int,
                                                      value: bytes, message: str) -> None:
    with pytest.raises(CorruptGalleryError, match=message):
        Gallery.load(_write(tmp_path, _edited(saved, section, index, value)))


def test_unknown_mode_is_refused_unless_overridden(saved: bytes, tmp_path: Path) -> None:
    path = _write(tmp_path, with_header(saved, lambda h: h.update(mode="faiss-v9")))
    with pytest.raises(InvalidParameterError, match="faiss-v9"):
        Gallery.load(path)
    assert len(Gallery.load(path, mode="exhaustive")) == 31


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Gallery.load(tmp_path / "absent.bsmg")


def test_damaged_candidate_index_section_is_rejected(enrolled: list[Template], tmp_path: Path) -> None:
    indexed = Gallery(mode="index", index_params=IndexParams(shortlist=5))
    indexed.add_many((f"s{i}", {RI: template}) for i, template in enumerate(enrolled[:20]))
    indexed.save(tmp_path / "index.bsmg")
    data = (tmp_path / "index.bsmg").read_bytes()
    offset, size = sections(data)["index"]
    assert header_of(data)["index_bytes"] == size > 0 and len(indexed._source.stored()[1]) == size
    flipped = bytearray(data)
    flipped[offset + size // 2] ^= 0x01
    with pytest.raises(CorruptGalleryError, match=r"index\) fail their SHA-256 checksum"):
        Gallery.load(_write(tmp_path, bytes(flipped)))
    # sealed by a faulty writer: FAISS refuses the serialisation, the gallery says so
    for position in (0, 8, 20, 44):
        with pytest.raises(CorruptGalleryError, match="candidate index cannot be read"):
            Gallery.load(_write(tmp_path, _edited(data, "index", position, b"\x7f")))

    def shorter(header: dict) -> None:  # type: ignore[type-arg]
        header["index_bytes"] -= 100
        header["sections"] = store._sections(header["subjects"], header["templates"], header["minutiae"],
                                             header["subject_id_bytes"], header["index_bytes"])

    with pytest.raises(CorruptGalleryError, match="candidate index cannot be read"):
        Gallery.load(_write(tmp_path, with_header(data, shorter)))
    assert Gallery.load(tmp_path / "index.bsmg", mode="exhaustive").templates == 20  # the index is not read
