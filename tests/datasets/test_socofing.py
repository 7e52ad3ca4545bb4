"""datasets.socofing: name parsing, Real/Altered folders, impressions of altered prints, ISO positions."""

from __future__ import annotations

import doctest
import logging
from pathlib import Path

import pytest

from datasets import (
    SOCOFING_ALTERATIONS,
    DatasetError,
    iter_socofing,
    parse_socofing_name,
    socofing_position,
)
from matcher.template import FingerPosition


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def socofing(root: Path) -> Path:
    """Two subjects; subject 10 has two fingers, one altered at every level, one only at Hard."""
    touch(root / "Real", "10__F_Right_thumb_finger.BMP", "10__F_Left_index_finger.BMP",
          "2__M_Left_little_finger.BMP", "notes.txt")
    for level in ("Easy", "Medium", "Hard"):
        touch(root / "Altered" / f"Altered-{level}", "10__F_Left_index_finger_CR.BMP",
              "10__F_Left_index_finger_Zcut.BMP")
    touch(root / "Altered" / "Altered-Hard", "2__M_Left_little_finger_Obl.BMP")
    return root


@pytest.mark.parametrize("name, parsed", [
    ("1__M_Left_index_finger.BMP", ("1", "Left_index", None)),
    ("1__M_Left_index_finger_CR.BMP", ("1", "Left_index", "CR")),
    ("600__F_Right_little_finger_Obl.bmp", ("600", "Right_little", "Obl")),
    ("007__m_RIGHT_Thumb_finger_zcut.BMP", ("7", "Right_thumb", "Zcut")),
    ("1_M_Left_index_finger.BMP", None), ("1__X_Left_index_finger.BMP", None),
    ("1__M_Left_pinky_finger.BMP", None), ("1__M_Left_index_finger_Blur.BMP", None), ("101_1.tif", None),
])
def test_parse_names(name: str, parsed: tuple[str, str, str | None] | None) -> None:
    assert parse_socofing_name(name) == parsed


def test_finger_positions_follow_iso() -> None:
    hands = [f"{hand}_{finger}" for hand in ("Right", "Left")
             for finger in ("thumb", "index", "middle", "ring", "little")]
    assert [int(socofing_position(f)) for f in hands] == list(range(1, 11))
    assert socofing_position("Left_index") is FingerPosition.LEFT_INDEX
    with pytest.raises(DatasetError, match="Left_pinky"):
        socofing_position("Left_pinky")


def test_real_only_by_default(tmp_path: Path) -> None:
    samples = list(iter_socofing(socofing(tmp_path)))
    assert [(s.subject, s.finger, s.impression, s.alteration, s.dpi) for s in samples] == [
        ("2", "Left_little", 1, None, 500), ("10", "Right_thumb", 1, None, 500),
        ("10", "Left_index", 1, None, 500)]
    assert samples[0].path == tmp_path / "Real" / "2__M_Left_little_finger.BMP"


def test_altered_prints_are_further_impressions(tmp_path: Path) -> None:
    samples = list(iter_socofing(socofing(tmp_path), altered=True, dpi=1000))
    index = [(s.subject, s.finger, s.impression, s.alteration) for s in samples]
    assert index[:3] == [("2", "Left_little", 1, None), ("2", "Left_little", 9, "Hard/Obl"),
                         ("10", "Right_thumb", 1, None)]
    assert [(i, a) for _, f, i, a in index if f == "Left_index"] == [
        (1, None), (2, "Easy/CR"), (4, "Easy/Zcut"), (5, "Medium/CR"), (7, "Medium/Zcut"),
        (8, "Hard/CR"), (10, "Hard/Zcut")]
    assert SOCOFING_ALTERATIONS[0] == "Easy/CR" and len(SOCOFING_ALTERATIONS) == 9
    assert {s.dpi for s in samples} == {1000}
    assert samples[1].path.parent.name == "Altered-Hard"


def test_pointing_at_one_image_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    socofing(tmp_path)
    assert len(list(iter_socofing(tmp_path / "Real"))) == 3
    hard = tmp_path / "Altered" / "Altered-Hard"
    assert list(iter_socofing(hard)) == []
    assert [s.alteration for s in iter_socofing(hard, altered=True)] == ["Hard/Obl", "Hard/CR", "Hard/Zcut"]
    touch(tmp_path / "mixed", "3__F_Left_ring_finger_CR.BMP", "bad.BMP", "3__F_Left_ring_finger.BMP")
    with caplog.at_level(logging.WARNING, logger="datasets.socofing"):
        assert [s.impression for s in iter_socofing(tmp_path / "mixed", altered=True)] == [1]
    assert sorted(r.getMessage().split(":")[0].rsplit("/", 1)[-1] for r in caplog.records) == [
        "3__F_Left_ring_finger_CR.BMP", "bad.BMP"]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        list(iter_socofing(tmp_path / "nope"))
    assert list(iter_socofing(tmp_path)) == []


def test_docstring_examples() -> None:
    from datasets import socofing as module
    assert doctest.testmod(module).failed == 0
