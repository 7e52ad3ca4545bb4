"""Gallery files: round trip, atomic writes, and rejection of damaged files with typed errors."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from matcher import FingerPosition, InvalidParameterError, Template, TemplateVersionError
from matcher.formats import native
from matcher.index import CorruptGalleryError, Gallery, store

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
        assert loaded.get(subject) == gallery.get(subject)
    for probe in (probes[0], probes[7], {RI: probes[10], LI: probes[11]}):
        assert loaded.search(probe, k=5) == gallery.search(probe, k=5)
    assert loaded.search(probes[0], k=1)[0].subject == "subject 0 é"
    loaded.save(tmp_path / "again.bsmg")
    assert (tmp_path / "again.bsmg").read_bytes() == saved  # the writer is deterministic


def test_layout_and_permissions(saved: bytes, gallery: Gallery, tmp_path: Path) -> None:
    magic, version, reserved, header_length = struct.unpack_from("<4sHHI", saved)
    assert (magic, version, reserved) == (b"BSMG", 2, 0)
    assert b'"algorithm": "mcc16b-lgsr/1"' in saved[12:12 + header_length]
    assert saved.count(native.MAGIC) == gallery.templates
    gallery.save(tmp_path / "g.bsmg")
    assert (tmp_path / "g.bsmg").stat().st_mode & 0o777 == 0o600  # fingerprints are personal data


def test_empty_gallery_round_trip(tmp_path: Path) -> None:
    Gallery().save(tmp_path / "empty.bsmg")
    loaded = Gallery.load(tmp_path / "empty.bsmg")
    assert len(loaded) == 0 and loaded.search(Template.empty(width=10, height=10)) == []


def test_failure_mid_write_keeps_the_previous_file(gallery: Gallery, saved: bytes, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, saved)
    bigger = Gallery.load(path)
    bigger.add("new", {RI: gallery.get("blank")[FingerPosition.UNKNOWN]})
    calls = []
    real_dumps = native.dumps

    def failing_dumps(template: Template) -> bytes:
        calls.append(1)
        if len(calls) > bigger.templates // 2:
            raise OSError(28, "No space left on device")
        return real_dumps(template)

    monkeypatch.setattr(store.native, "dumps", failing_dumps)
    with pytest.raises(OSError, match="No space left"):
        bigger.save(path)
    assert path.read_bytes() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.bsmg"]  # no temporary file left
    assert len(Gallery.load(path)) == len(gallery)


def test_process_killed_mid_write_keeps_the_previous_file(saved: bytes, tmp_path: Path) -> None:
    path = _write(tmp_path, saved)
    script = textwrap.dedent(f"""
        import os
        from matcher.formats import native
        from matcher.index import Gallery, store
        gallery = Gallery.load({str(path)!r})
        calls = []
        def dying_dumps(template):
            calls.append(1)
            if len(calls) == 20:
                os._exit(9)  # no clean-up of any kind, like a power cut for this process
            return native.dumps(template)
        store.native = type("M", (), {{"dumps": staticmethod(dying_dumps)}})
        gallery.save({str(path)!r})
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr.decode()
    assert path.read_bytes() == saved
    assert len(Gallery.load(path)) == 31  # a stale temporary file may remain; the gallery is intact


@pytest.mark.parametrize("offset", [6, 14, 40, -200, -40, -1])
def test_flipped_byte_is_rejected(saved: bytes, tmp_path: Path, offset: int) -> None:
    data = bytearray(saved)
    data[offset] ^= 0x01
    with pytest.raises(CorruptGalleryError):
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


def test_future_version_is_rejected(saved: bytes, tmp_path: Path) -> None:
    data = saved[:4] + struct.pack("<H", 3) + saved[6:]
    with pytest.raises(TemplateVersionError, match="version 3, this build reads version 2"):
        Gallery.load(_write(tmp_path, data))


def _with_header(saved: bytes, header: bytes) -> bytes:
    """The saved records under another header, with a valid checksum."""
    (length,) = struct.unpack_from("<I", saved, 8)
    body = saved[:8] + struct.pack("<I", len(header)) + header + saved[12 + length:-32]
    return body + hashlib.sha256(body).digest()


@pytest.mark.parametrize(("header", "message"), [
    (b"not json", "not JSON"),
    (b"[]", "header format"),
    (b'{"format": "other"}', "header format"),
    (b'{"format": "basma-gallery", "subjects": 31}', "templates must be a count"),
    (b'{"format": "basma-gallery", "subjects": 30, "templates": 61}', "header says 30 subjects"),
    (b'{"format": "basma-gallery", "subjects": 31, "templates": 62}', "truncated"),
])
def test_inconsistent_header_is_rejected(saved: bytes, tmp_path: Path, header: bytes, message: str) -> None:
    with pytest.raises(CorruptGalleryError, match=message):
        Gallery.load(_write(tmp_path, _with_header(saved, header)))


def test_unknown_mode_is_refused_unless_overridden(saved: bytes, tmp_path: Path) -> None:
    header = b'{"format": "basma-gallery", "mode": "faiss-v9", "subjects": 31, "templates": 61}'
    path = _write(tmp_path, _with_header(saved, header))
    with pytest.raises(InvalidParameterError, match="faiss-v9"):
        Gallery.load(path)
    assert len(Gallery.load(path, mode="exhaustive")) == 31


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Gallery.load(tmp_path / "absent.bsmg")
