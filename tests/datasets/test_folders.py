"""datasets.folders: FVC naming rules, ordering, image sets, native dpi table."""

from __future__ import annotations

import doctest
import logging
from pathlib import Path

import pytest

from datasets import Sample, find_image_sets, fvc_native_dpi, iter_fvc, list_images


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_naming_rules_and_order(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    touch(tmp_path, "a_b_3.tif", "a_b_1.TIF", "10_2.png", "9_1.bmp", "9_12.jpeg", "9_2.wsq",
          "bad.tif", "x_.tif", "_3.tif", "7_one.jp2", "7_1.txt", "readme.md", ".9_3.tif")
    (tmp_path / "5_1.tif").mkdir()  # a folder named like an image is not one
    with caplog.at_level(logging.WARNING, logger="datasets.folders"):
        samples = list(iter_fvc(tmp_path))
    assert [(s.finger, s.impression) for s in samples] == [
        ("9", 1), ("9", 2), ("9", 12), ("10", 2), ("a_b", 1), ("a_b", 3)]
    assert samples[4] == Sample(subject="a_b", finger="a_b", impression=1, path=tmp_path / "a_b_1.TIF", dpi=None)
    skipped = sorted(r.getMessage().split(":")[0].rsplit("/", 1)[-1] for r in caplog.records)
    assert skipped == ["7_one.jp2", "_3.tif", "bad.tif", "x_.tif"]


def test_dpi_is_carried_and_samples_are_frozen(tmp_path: Path) -> None:
    touch(tmp_path, "101_1.tif")
    (sample,) = iter_fvc(tmp_path, dpi=569)
    assert sample.dpi == 569
    with pytest.raises(AttributeError):
        sample.finger = "102"  # type: ignore[misc]


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="nope"):
        list(iter_fvc(tmp_path / "nope"))
    touch(tmp_path, "file.tif")
    with pytest.raises(NotADirectoryError):
        find_image_sets(tmp_path / "file.tif")


def test_empty_folder_gives_nothing(tmp_path: Path) -> None:
    assert list(iter_fvc(tmp_path)) == [] and find_image_sets(tmp_path) == []


def test_find_image_sets_takes_root_or_its_subfolders(tmp_path: Path) -> None:
    touch(tmp_path / "set10", "1_1.png")
    touch(tmp_path / "set9", "1_1.png")
    touch(tmp_path / "notes", "x.txt")
    touch(tmp_path / "set9" / "deeper", "1_1.png")
    assert find_image_sets(tmp_path) == [tmp_path / "set9", tmp_path / "set10"]
    assert find_image_sets(tmp_path / "set9") == [tmp_path / "set9"]
    touch(tmp_path, "loose_1.png")
    assert find_image_sets(tmp_path) == [tmp_path]


def test_fvc2002(fvc2002: Path) -> None:
    sets = find_image_sets(fvc2002)
    assert [p.name for p in sets] == ["db1_b", "db2_b", "db3_b", "db4_b"]
    samples = list(iter_fvc(sets[0]))
    assert len(samples) == 80 and len(list_images(sets[0])) == 80
    assert [s.path.name for s in samples[:9]] == [f"101_{i}.tif" for i in range(1, 9)] + ["102_1.tif"]
    assert {s.finger for s in samples} == {str(f) for f in range(101, 111)}
    assert [fvc_native_dpi(p) for p in sets] == [500, 569, 500, 500]


@pytest.mark.parametrize("path, dpi", [
    ("/data/FVC2004/DB3_A", 512), ("/data/fvc-2000/db1", 500), ("/data/fvc2002/db2_b", 569),
    ("/data/fvc2002/db5_b", None), ("/data/scans/db1_b", None), ("fvc2002", None),
])
def test_fvc_native_dpi(path: str, dpi: int | None) -> None:
    assert fvc_native_dpi(path) == dpi


def test_docstring_examples() -> None:
    from datasets import folders
    assert doctest.testmod(folders).failed == 0
