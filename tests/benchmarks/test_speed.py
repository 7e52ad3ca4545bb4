"""benchmarks speed: the report's figures with a fake matcher, and a short run of the real one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import speed
from benchmarks.__main__ import main
from matcher import formats
from tests.benchmarks._fakes import FakeMatcher, fake_set, fake_template, use_fakes

REPORT_KEYS = {"compare_per_s_1thread", "compare_per_s_all", "threads", "extract_ms_median",
               "template_bytes_median", "minutiae_median", "algorithm", "cpu"}


def test_report_with_a_fake_matcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    use_fakes(monkeypatch, speed)
    folder = fake_set(tmp_path / "db", fingers=2, impressions=2, broken=["2_2"])
    assert main(["speed", "--dataset", str(folder), "--threads", "3", "--seconds", "0.05", "--batch", "7",
                 "--repeats", "3", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert REPORT_KEYS <= report.keys()
    assert report["threads"] == 3 and report["algorithm"] == "fake/1" and report["cpu"]
    assert report["templates"] == 3 and report["failures_to_extract"] == 1
    assert report["compare_per_s_1thread"] > 0 and report["compare_per_s_all"] > 0
    templates = [fake_template(1, 3), fake_template(1, 4), fake_template(2, 3)]  # 2_2 failed
    assert report["minutiae_median"] == 3 and report["extract_ms_median"] == 2.5
    assert report["template_bytes_median"] == np.median([len(formats.dumps(t, "native")) for t in templates])
    # The medians of three alternating runs of each kind, every run kept.
    assert report["repeats"] == 3
    for kind in ("1thread", "all"):
        runs = report[f"compare_per_s_{kind}_runs"]
        assert len(runs) == 3 and report[f"compare_per_s_{kind}"] == np.median(runs)
    # One preparing pass of the 3 templates, then batches of 7 (the templates repeated) with
    # threads=1, then threads=3, three times over.
    assert [t for _, batch, t in FakeMatcher.calls if len(batch) == 3] == [3]
    threads = [t for _, batch, t in FakeMatcher.calls if len(batch) == 7]
    changes = [t for i, t in enumerate(threads) if i == 0 or t != threads[i - 1]]
    assert changes == [1, 3, 1, 3, 1, 3] and report["batch"] == 7
    out = capsys.readouterr().out
    assert "comparisons/s, 3 threads (median)" in out and "in 3 runs" in out


def test_compare_rate_runs_at_least_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, speed)
    probes = [fake_template(1, 3), fake_template(2, 3)]
    assert speed.compare_rate(probes, probes * 5, threads=1, seconds=0.0) > 0
    assert len(FakeMatcher.calls) == 1 and len(FakeMatcher.calls[0][1]) == 10


def test_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, speed)
    out = str(tmp_path / "out")
    assert main(["speed", "--dataset", str(tmp_path / "missing"), "--out", out]) == 2
    assert main(["speed", "--dataset", str(tmp_path), "--out", out]) == 2
    assert main(["speed", "--seconds", "0", "--out", out]) == 2
    assert main(["speed", "--repeats", "0", "--out", out]) == 2
    fake_set(tmp_path / "bad", fingers=1, impressions=1, broken=["1_1"])
    assert main(["speed", "--dataset", str(tmp_path / "bad"), "--out", out]) == 2


@pytest.mark.dataset
def test_real_matcher_on_four_images(fvc2002: Path, tmp_path: Path) -> None:
    folder = tmp_path / "db1_b"
    folder.mkdir()
    for name in ("101_1", "101_2", "102_1", "102_2"):
        shutil.copy(fvc2002 / "db1_b" / f"{name}.tif", folder)
    assert main(["speed", "--dataset", str(folder), "--threads", "2", "--seconds", "0.1",
                 "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["algorithm"] == speed.Matcher.ALGORITHM and report["templates"] == 4
    assert report["compare_per_s_1thread"] > 0 and report["compare_per_s_all"] > 0
    assert report["minutiae_median"] > 0 and report["template_bytes_median"] > 0
