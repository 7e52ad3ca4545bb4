"""benchmarks gallery-file: save and load a small synthetic gallery in both modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.gallery_file import _KEYS


@pytest.mark.parametrize("mode", ["exhaustive", "index"])
def test_small_gallery_file(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "out"
    assert main(["gallery-file", "--gallery-size", "250", "--distinct", "100", "--mode", mode, "--loads", "1",
                 "--probes", "5", "--store", str(tmp_path / "store"), "--workers", "1", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(_KEYS) <= report.keys()
    assert report["gallery_size"] == 250 and report["distinct_fingers"] == 100 and report["mode"] == mode
    assert report["subjects"] == report["templates"] == 250
    assert report["file_mb"] > 0 and report["load_s"] > 0 and report["rss_mb"] is not None
    assert report["first_add_s"] > 0 and report["changed_save_s"] > 0 and report["mapped_mb"] > 0
    if mode == "index":
        assert report["self_rank1"] == 1.0 and report["first_search_ms"] > 0


def test_store_of_another_seed_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert main(["gallery-file", "--gallery-size", "20", "--loads", "1", "--store", str(store), "--workers", "1",
                 "--out", str(tmp_path / "out")]) == 0
    assert main(["gallery-file", "--gallery-size", "30", "--store", str(store), "--out", str(tmp_path / "out")]) == 2
    assert "holds 20 fingers" in capsys.readouterr().err


def test_from_an_existing_file(tmp_path: Path) -> None:
    first = tmp_path / "first.bsmg"
    assert main(["gallery-file", "--gallery-size", "40", "--mode", "index", "--loads", "1", "--probes", "3",
                 "--store", str(tmp_path / "store"), "--workers", "1", "--file", str(first),
                 "--out", str(tmp_path / "out1")]) == 0
    assert main(["gallery-file", "--from", str(first), "--loads", "2", "--probes", "3", "--store",
                 str(tmp_path / "store"), "--out", str(tmp_path / "out2")]) == 0
    report = json.loads((tmp_path / "out2" / "report.json").read_text())
    assert report["mode"] == "index" and report["gallery_size"] == 40 and report["build_s"] is None
    assert report["from_format_version"] == report["format_version"] == 3 and len(report["load_s_all"]) == 2
    assert report["from_load_s"] > 0 and report["from_self_rank1"] == report["self_rank1"] == 1.0
