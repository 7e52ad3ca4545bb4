"""datasets.layouts: detecting each layout and reading every one through iter_samples."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasets import (
    LAYOUTS,
    DatasetError,
    Sample,
    detect_layout,
    fvc_native_dpi,
    iter_samples,
    iter_synthetic,
)
from matcher.errors import InvalidParameterError


def touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def fvc(folder: Path) -> Path:
    return touch(folder, "101_1.tif", "101_2.tif", "102_1.tif")


def socofing(root: Path) -> Path:
    touch(root / "Real", "1__M_Left_index_finger.BMP", "1__M_Right_thumb_finger.BMP")
    touch(root / "Altered" / "Altered-Easy", "1__M_Left_index_finger_Obl.BMP")
    return root


def synthetic(folder: Path, meta: object = None) -> Path:
    fvc(folder)
    (folder / "synthetic.json").write_text(json.dumps({"seed": 1, "dpi": 500} if meta is None else meta))
    return folder


def test_detects_every_layout(tmp_path: Path) -> None:
    assert detect_layout(fvc(tmp_path / "fvc" / "db1_b")) == "fvc"
    assert detect_layout(tmp_path / "fvc") == "fvc"  # a folder of sets
    assert detect_layout(socofing(tmp_path / "SOCOFing")) == "socofing"
    assert detect_layout(tmp_path / "SOCOFing" / "Real") == "socofing"
    assert detect_layout(synthetic(tmp_path / "synth" / "s1")) == "synthetic"
    synthetic(tmp_path / "synth" / "s2")
    assert detect_layout(tmp_path / "synth") == "synthetic"  # a folder of synthetic sets
    (tmp_path / "list.CSV").write_text("path,subject,finger,impression\n")
    assert detect_layout(tmp_path / "list.CSV") == "csv"
    assert set(LAYOUTS) == {"fvc", "socofing", "csv", "synthetic"}


def test_detection_follows_most_names(tmp_path: Path) -> None:
    folder = touch(tmp_path / "mixed", "1_1.png", "1_2.png", "1__M_Left_index_finger.BMP")
    assert detect_layout(folder) == "fvc"
    touch(folder, "2__F_Left_ring_finger.BMP", "3__F_Left_ring_finger.BMP")
    assert detect_layout(folder) == "socofing"
    synthetic(tmp_path / "synth" / "s1")
    fvc(tmp_path / "synth" / "plain")
    assert detect_layout(tmp_path / "synth") == "fvc"  # not every set is synthetic


@pytest.mark.parametrize("setup, message", [
    (lambda p: p / "missing", "no such folder or .csv manifest: .*missing"),
    (lambda p: touch(p, "notes.txt") / "notes.txt", "not a folder or a .csv manifest"),
    (lambda p: p, "no images in it or its sub-folders"),
    (lambda p: touch(p, "scan.png", "other.png"), "named neither .*pass the layout, one of fvc, socofing"),
])
def test_undetectable(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatasetError, match=message):
        detect_layout(setup(tmp_path))


def test_iter_samples_dispatches(tmp_path: Path) -> None:
    assert [(s.identity, s.impression) for s in iter_samples(fvc(tmp_path / "db1"))] == [
        (("101", "101"), 1), (("101", "101"), 2), (("102", "102"), 1)]
    root = socofing(tmp_path / "SOCOFing")
    assert [s.finger for s in iter_samples(root)] == ["Right_thumb", "Left_index"]
    assert [(s.finger, s.alteration) for s in iter_samples(root, "socofing", altered=True)] == [
        ("Right_thumb", None), ("Left_index", None), ("Left_index", "Easy/Obl")]
    (tmp_path / "db1" / "list.csv").write_text("path,subject,finger,impression\n102_1.tif,p,RI,3\n")
    assert list(iter_samples(tmp_path / "db1" / "list.csv", altered=True)) == [
        Sample("p", "RI", 3, tmp_path / "db1" / "102_1.tif")]
    assert {s.dpi for s in iter_samples(tmp_path / "db1", "fvc", dpi=569)} == {569}
    with pytest.raises(InvalidParameterError, match="layout must be one of fvc, socofing, csv, synthetic, got 'nist'"):
        iter_samples(tmp_path / "db1", "nist")


def test_synthetic_sets_carry_their_dpi(tmp_path: Path) -> None:
    assert {s.dpi for s in iter_samples(synthetic(tmp_path / "a"))} == {500}
    assert {s.dpi for s in iter_synthetic(tmp_path / "a", dpi=1000)} == {1000}
    assert {s.dpi for s in iter_synthetic(synthetic(tmp_path / "b", {"dpi": True}))} == {None}
    assert {s.dpi for s in iter_synthetic(synthetic(tmp_path / "c", {}))} == {None}
    with pytest.raises(DatasetError, match="expected a JSON object"):
        iter_synthetic(synthetic(tmp_path / "d", [500]))
    (tmp_path / "d" / "synthetic.json").write_text("{")
    with pytest.raises(DatasetError, match="cannot read .*synthetic.json"):
        iter_synthetic(tmp_path / "d")
    with pytest.raises(DatasetError, match="cannot read"):
        iter_samples(fvc(tmp_path / "e"), "synthetic")
    with pytest.raises(NotADirectoryError):
        iter_synthetic(tmp_path / "missing")


def test_samples_load_from_path_or_array(tmp_path: Path) -> None:
    pixels = (np.arange(64 * 80) % 251).astype(np.uint8).reshape(64, 80)
    Image.fromarray(pixels).save(tmp_path / "1__F_Left_ring_finger.BMP")
    (sample,) = iter_samples(tmp_path)
    image = sample.load()
    assert image.dpi == 500 and np.array_equal(image.pixels, pixels)
    in_memory = Sample("s", "f", 1, None, dpi=1000, image=pixels)
    assert in_memory.load().dpi == 1000 and in_memory == Sample("s", "f", 1, None, dpi=1000, image=pixels[::-1])
    with pytest.raises(DatasetError, match="neither a path nor an image"):
        Sample("s", "f", 1, None)


@pytest.mark.parametrize("path, dpi", [("/d/FVC2006/DB1_A", 250), ("/d/fvc2006/db2_b", 569),
                                       ("/d/fvc2006/db3", 500), ("/d/FVC2006/DB4_B", 500)])
def test_fvc2006_native_dpi(path: str, dpi: int) -> None:
    assert fvc_native_dpi(path) == dpi


def test_docstring_examples() -> None:
    from datasets import layouts
    assert doctest.testmod(layouts).failed == 0
