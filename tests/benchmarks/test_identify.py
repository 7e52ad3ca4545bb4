"""benchmarks identify and identify-scale: a small synthetic gallery, index and exhaustive in one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.identify import _KEYS


def test_small_gallery_index_and_exhaustive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["identify", "--gallery-size", "300", "--probes", "20", "--exhaustive-probes", "10",
                 "--shortlist", "30", "--store", str(tmp_path / "store"), "--workers", "1", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(_KEYS) <= report.keys()
    assert report["gallery_size"] == 300 and report["probes"] == 20 and report["exhaustive_probes"] == 10
    assert report["penetration_index"] == pytest.approx(30 / 300)
    assert 0.8 <= report["rank1_index"] <= report["rank10_index"] <= 1.0  # mates of an easy gallery
    assert report["rank1_exhaustive"] >= 0.8 and report["index_keeps_exhaustive_rank1"] >= 0.8
    assert 1000 < report["bytes_per_template"] < 2048 and report["index_factory"] == "IDMap,BFlat"
    assert report["p50_ms_index"] > 0 and report["p50_ms_exhaustive"] > 0
    # The probes again with their fingers removed: no confident mate, so (nearly) all take the second pass.
    assert report["p50_ms_index_nonmated"] > 0 and report["second_pass_share_index_nonmated"] >= 0.9
    assert 0 <= report["second_pass_share_index"] < report["second_pass_share_index_nonmated"]
    # A second run reuses the store; another size in the same folder is refused.
    assert main(["identify", "--gallery-size", "300", "--probes", "5", "--mode", "index",
                 "--store", str(tmp_path / "store"), "--out", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again" / "report.json").read_text())["generation_s"] == 0.0
    assert main(["identify", "--gallery-size", "301", "--store", str(tmp_path / "store"), "--out", str(out)]) == 2
    assert "holds another gallery (300 fingers" in capsys.readouterr().err
    assert main(["identify-scale", str(out), str(tmp_path / "again"), "--png", str(tmp_path / "scale.png")]) == 0
    table = capsys.readouterr().out
    assert table.count("| 300 |") == 2 and (tmp_path / "scale.png").stat().st_size > 1000
