"""benchmarks verify: FVC pair generation, the report with a fake matcher, and a tiny real run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import verify
from benchmarks.__main__ import main
from benchmarks._pairs import default_impostors, genuine_pairs, impostor_pairs, score_pairs
from matcher.errors import InvalidParameterError
from tests.benchmarks._fakes import FakeMatcher, fake_set, fake_template, use_fakes

REPORT_KEYS = {"dataset", "images", "genuine", "impostor", "failures_to_extract", "eer", "eer_low",
               "eer_high", "fmr100", "fmr1000", "zerofmr", "extract_ms_median", "compare_us_median",
               "algorithm", "threshold_at_eer"}


def test_fvc_protocol_counts() -> None:
    fingers = [f for f in "abcd" for _ in range(3)]  # 4 fingers x 3 impressions
    genuine, fvc, every = genuine_pairs(fingers), impostor_pairs(fingers, "fvc"), impostor_pairs(fingers, "all")
    assert len(genuine) == 4 * 3 * 2 // 2 and len(fvc) == 4 * 3 // 2
    assert len(every) == 12 * 11 // 2 - len(genuine)
    assert all(i < j and fingers[i] == fingers[j] for i, j in genuine)
    assert all(i < j and fingers[i] != fingers[j] for i, j in every)
    assert sorted(map(tuple, fvc.tolist())) == [(0, 3), (0, 6), (0, 9), (3, 6), (3, 9), (6, 9)]
    assert len({tuple(p) for p in every.tolist()}) == len(every)


def test_protocol_with_uneven_impressions() -> None:
    fingers = ["1", "1", "1", "2", "3", "3"]
    assert genuine_pairs(fingers).tolist() == [[0, 1], [0, 2], [1, 2], [4, 5]]
    assert impostor_pairs(fingers, "fvc").tolist() == [[0, 3], [0, 4], [3, 4]]
    assert len(impostor_pairs(fingers, "all")) == 15 - 4
    assert len(genuine_pairs([])) == 0 and len(impostor_pairs(["x"], "all")) == 0


def test_protocol_errors_and_default() -> None:
    with pytest.raises(InvalidParameterError, match="protocol"):
        impostor_pairs(["a", "b"], "some")
    with pytest.raises(InvalidParameterError, match="grouped"):
        genuine_pairs(["a", "b", "a"])
    assert default_impostors(2000) == "all" and default_impostors(2001) == "fvc"


def test_score_pairs_batches_each_probe_once(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch)
    templates = [fake_template(1, 3), fake_template(1, 4), None, fake_template(2, 3)]
    pairs = np.array([[0, 1], [1, 3], [0, 3], [0, 2], [2, 3]])
    scores = score_pairs(templates, pairs, matcher=FakeMatcher, threads=3)
    assert scores.dtype == np.float32 and scores.tolist() == pytest.approx([0.9, 0.1, 0.1, 0.0, 0.0])
    assert [(len(batch), threads) for _, batch, threads in FakeMatcher.calls] == [(2, 3), (1, 3)]


def test_report_with_a_fake_matcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    use_fakes(monkeypatch, verify)
    folder = fake_set(tmp_path / "db9", fingers=3, impressions=3, broken=["2_1"])
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(folder), "--threads", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert REPORT_KEYS <= report.keys()
    assert (report["images"], report["genuine"], report["impostor"]) == (9, 9, 27)
    assert report["failures_to_extract"] == 1 and report["failed_images"] == ["2_1.png"]
    assert report["impostor_protocol"] == "all" and report["algorithm"] == "fake/1"
    # 2_1 failed: its 2 genuine pairs score 0 (FNMR 2/9 at any threshold in (0, .9]), its 6
    # impostor pairs score 0, the other 21 score .1. At t = .9: FMR 0, FNMR 2/9 -> t2 wins.
    assert (report["eer_low"], report["eer_high"]) == pytest.approx((0.0, 2 / 9))
    assert report["eer"] == pytest.approx(1 / 9) and report["threshold_at_eer"] == pytest.approx(0.9)
    assert report["zerofmr"] == report["fmr100"] == report["fmr1000"] == pytest.approx(2 / 9)
    assert report["extract_ms_median"] == 2.5 and report["compare_us_median"] > 0
    saved = np.load(out / "scores.npz")
    assert saved["genuine"].shape == (9,) and saved["impostor"].shape == (27,)
    assert saved["genuine_pairs"][0].tolist() == ["1_1.png", "1_2.png"]
    assert sorted(saved["genuine"].tolist()).count(0.0) == 2
    for name in ("det.png", "scores.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![DET curve](det.png)" in (out / "report.md").read_text()
    captured = capsys.readouterr()
    assert "db9" in captured.out and "11.11%" in captured.out and "2_1.png" in captured.err


def test_several_sets_fvc_impostors_and_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, verify)
    fake_set(tmp_path / "sets" / "db1_b", fingers=4, impressions=2)
    fake_set(tmp_path / "sets" / "db2_b", fingers=4, impressions=2, broken=["1_1", "1_2"])
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(tmp_path / "sets"), "--impostors", "fvc", "--limit-fingers", "3",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in report["sets"]] == ["db1_b", "db2_b"]
    assert all(s["images"] == 6 and s["genuine"] == 3 and s["impostor"] == 3 for s in report["sets"])
    assert [s["eer"] for s in report["sets"]] == pytest.approx([0.0, 1 / 3])  # db2_b: finger 1 lost
    assert report["mean_eer"] == pytest.approx(1 / 6) and report["failures_to_extract"] == 2
    for name in ("db1_b", "db2_b"):
        assert REPORT_KEYS <= json.loads((out / name / "report.json").read_text()).keys()
        assert (out / name / "scores.npz").is_file()
    assert (out / "det.png").is_file() and "db2_b/report.md" in (out / "report.md").read_text()


def test_usage_and_data_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    use_fakes(monkeypatch, verify)
    out = str(tmp_path / "out")
    assert main(["verify", "--dataset", str(tmp_path / "missing"), "--out", out]) == 2
    assert main(["verify", "--dataset", str(tmp_path), "--out", out]) == 2
    assert main(["verify", "--dataset", str(tmp_path), "--impostors", "some", "--out", out]) == 2
    fake_set(tmp_path / "one", fingers=1, impressions=3)
    assert main(["verify", "--dataset", str(tmp_path / "one"), "--out", out]) == 2
    assert "a set needs two fingers" in capsys.readouterr().err


@pytest.mark.dataset
def test_end_to_end_on_real_images(fvc2002: Path, tmp_path: Path) -> None:
    folder = tmp_path / "db1_b"
    folder.mkdir()
    for finger in ("101", "102", "103"):
        for impression in (1, 2, 3):
            shutil.copy(fvc2002 / "db1_b" / f"{finger}_{impression}.tif", folder)
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(folder), "--threads", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["images"], report["genuine"], report["impostor"], report["failures_to_extract"]) == (9, 9, 27, 0)
    assert report["algorithm"] == verify.Matcher.ALGORITHM
    assert 0.0 <= report["eer_low"] <= report["eer"] <= report["eer_high"] <= 1.0
    assert report["extract_ms_median"] > 0 and report["compare_us_median"] > 0
    saved = np.load(out / "scores.npz")
    genuine, impostor = saved["genuine"], saved["impostor"]
    assert np.all((genuine >= 0) & (genuine <= 1)) and np.all((impostor >= 0) & (impostor <= 1))
    assert np.median(genuine) > np.median(impostor)  # a real matcher separates the two at least on average
