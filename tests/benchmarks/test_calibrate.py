"""benchmarks calibrate: perturbation, the threshold rule, the impostor sample and the table file."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks import calibrate
from benchmarks.__main__ import main
from benchmarks.calibrate import calibration_points, fmr_steps, impostor_scores, perturb, threshold_at
from matcher.errors import InvalidParameterError
from matcher.template import Template
from tests.benchmarks._fakes import FakeMatcher, fake_set, fake_template, use_fakes


def spread_template(n: int = 30) -> Template:
    rng = np.random.default_rng(1)
    return Template(x=rng.integers(150, 250, n), y=rng.integers(150, 250, n), angle=rng.uniform(0, 6, n),
                    kind=rng.integers(1, 3, n), quality=rng.integers(0, 101, n), width=400, height=400)


def test_perturb_moves_rigidly_and_drops_a_tenth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibrate, "DROP_FRACTION", 0.1)
    template = spread_template()
    variant = perturb(template, np.random.default_rng(5))
    assert len(variant) == 27 and (variant.width, variant.height, variant.dpi) == (400, 400, 500)
    again = perturb(template, np.random.default_rng(5))
    assert again == variant and perturb(template, np.random.default_rng(6)) != variant
    centroid = np.array([template.x.mean(), template.y.mean()])
    moved = np.hypot(variant.x.mean() - centroid[0], variant.y.mean() - centroid[1])
    assert moved <= calibrate.TRANSLATION_MAX_PX * math.sqrt(2) + 15


def test_perturb_preserves_pairwise_distances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibrate, "POSITION_JITTER_PX", 0.0)
    monkeypatch.setattr(calibrate, "ANGLE_JITTER_RAD", 0.0)
    monkeypatch.setattr(calibrate, "DROP_FRACTION", 0.0)
    template = spread_template()
    variant = perturb(template, np.random.default_rng(3))

    def distances(t: Template) -> np.ndarray:
        xy = np.stack([t.x, t.y], axis=1).astype(float)
        return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert np.allclose(distances(variant), distances(template), atol=1.5)
    # Directions turn by the same angle as positions (the "as viewed" convention, y downwards).
    turn = np.angle(np.exp(1j * (variant.angle.astype(float) - template.angle)))
    assert np.ptp(turn) < 1e-5 and abs(turn[0]) <= calibrate.ROTATION_MAX_RAD + 1e-6
    dx, dy = float(template.x[1]) - template.x[0], float(template.y[1]) - template.y[0]
    vx, vy = float(variant.x[1]) - variant.x[0], float(variant.y[1]) - variant.y[0]
    seen = math.atan2(-vy, vx) - math.atan2(-dy, dx)
    assert abs(math.remainder(seen - turn[0], 2 * math.pi)) < 0.05


def test_perturb_clips_and_keeps_empty() -> None:
    corner = Template(x=[0, 1, 2], y=[0, 1, 2], angle=[0, 1, 2], kind=[1, 1, 2], quality=[9, 9, 9],
                      width=3, height=3)
    for seed in range(20):
        v = perturb(corner, np.random.default_rng(seed))
        assert v.x.max() <= 2 and v.y.max() <= 2
    empty = Template.empty(width=10, height=10)
    assert perturb(empty, np.random.default_rng(0)) is empty


def test_fmr_steps_and_threshold_rule() -> None:
    assert list(itertools.islice(fmr_steps(), 10)) == [0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001,
                                                       0.0005, 0.0002, 0.0001]
    rng = np.random.default_rng(2)
    scores = np.sort(np.round(rng.uniform(0, 1, 1000), 3).astype(np.float32))  # many ties
    for fmr in (0.1, 0.05, 0.01, 0.003):
        t = np.float32(threshold_at(scores, fmr))
        assert np.mean(scores >= t) <= fmr
        assert np.mean(scores >= np.nextafter(t, np.float32(-1))) > fmr  # no smaller float32 works
    assert threshold_at(scores, 1e-9) > scores[-1]


def test_calibration_points_stop_at_three_impostors() -> None:
    scores = np.linspace(0, 1, 100, dtype=np.float32)
    points = calibration_points(scores)
    assert [f for f, _ in points] == [0.1, 0.05]  # 0.02 * 100 = 2 < 3
    assert points[0][1] == pytest.approx(scores[-11], abs=1e-6) and points[0][1] > scores[-11]
    assert len(calibration_points(np.zeros(30))) == 1
    with pytest.raises(InvalidParameterError, match="need at least 30"):
        calibration_points(np.zeros(29))


def test_impostor_sample_never_compares_a_finger_with_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, calibrate)
    templates = [fake_template(f, m) for f, m in ((1, 3), (1, 4), (2, 3), (3, 5), (3, 3))]
    fingers = [("db1", "1"), ("db1", "1"), ("db1", "2"), ("db2", "1"), ("db2", "1")]
    pairs, perturbed = impostor_scores(templates, fingers, variants=2, rng=np.random.default_rng(0), threads=2,
                                       within_set=False)
    assert pairs.size == 10 - 2 and perturbed.size == 2 * (3 + 3 + 4 + 3 + 3)
    assert np.all(pairs == np.float32(0.1)) and np.all(perturbed == np.float32(0.1))
    for probe, batch, threads in FakeMatcher.calls:
        assert threads == 2 and all(c.width != probe.width for c in batch)


def test_impostor_sample_within_sets_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, calibrate)
    templates = [fake_template(f, m) for f, m in ((1, 3), (1, 4), (2, 3), (3, 5), (3, 3))]
    fingers = [("db1", "1"), ("db1", "1"), ("db1", "2"), ("db2", "1"), ("db2", "1")]
    pairs, perturbed = impostor_scores(templates, fingers, variants=2, rng=np.random.default_rng(0), threads=2)
    # db1: finger 1 (two templates) against finger 2; db2 holds a single finger.
    assert pairs.size == 2 and perturbed.size == 2 * (1 + 1 + 2)


def test_command_writes_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    use_fakes(monkeypatch, calibrate)
    fake_set(tmp_path / "sets" / "db1_b", fingers=4, impressions=3)
    fake_set(tmp_path / "sets" / "db2_b", fingers=3, impressions=3, broken=["3_3"])
    out = tmp_path / "table.json"
    assert main(["calibrate", "--dataset", str(tmp_path / "sets"), "--variants", "2", "--seed", "4",
                 "--threads", "2", "--out", str(out)]) == 0
    table = json.loads(out.read_text())
    assert {"format", "version", "algorithm", "impostor_comparisons", "sources", "created", "points"} <= table.keys()
    assert (table["format"], table["version"], table["algorithm"]) == ("basma-calibration", 1, "fake/1")
    # Pairs within each set. db1_b: 12 templates of 4 fingers, C(12, 2) - 4 * 3 = 54 pairs and
    # 2 variants * 12 templates * 9 others = 216; db2_b: 8 templates (one failed) of fingers with
    # 3, 3, 2 images, C(8, 2) - 7 = 21 pairs and 2 * (3*5 + 3*5 + 2*6) = 84.
    assert table["impostor_comparisons"] == 54 + 216 + 21 + 84
    assert [s["comparisons"] for s in table["sources"]] == [54 + 21, 216 + 84]
    assert table["sources"][0]["failures_to_extract"] == 1 and table["sources"][1]["seed"] == 4
    assert set(table["per_set"]) == {"db1_b", "db2_b"}
    fmrs = [f for f, _ in table["points"]]
    assert fmrs[0] == 0.1 and fmrs[-1] == 0.05  # db2_b's 105 scores: 0.02 * 105 < 3
    assert [f for f, _ in table["per_set"]["db1_b"]][-1] == 0.02  # 270 scores: 0.01 * 270 < 3
    assert np.all(np.diff([t for _, t in table["points"]]) >= 0)
    printed = capsys.readouterr().out
    assert "smallest FMR in the table: 0.05" in printed and str(out) in printed


def test_pooled_sample_across_sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, calibrate)
    fake_set(tmp_path / "sets" / "db1_b", fingers=4, impressions=3)
    fake_set(tmp_path / "sets" / "db2_b", fingers=3, impressions=3, broken=["3_3"])
    out = tmp_path / "table.json"
    assert main(["calibrate", "--dataset", str(tmp_path / "sets"), "--variants", "2", "--pairs", "across",
                 "--threads", "2", "--out", str(out)]) == 0
    table = json.loads(out.read_text())
    # 20 templates of 7 fingers: C(20, 2) - (4*3 + 2*3 + 1) = 171 pairs; variants against every
    # other finger: 2 * (20*20 - 4*9 - 2*9 - 4) = 684.
    assert table["impostor_comparisons"] == 171 + 684 and table["per_set"] is None
    assert [f for f, _ in table["points"]][-1] == 0.005  # 0.002 * 855 < 3


def test_command_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use_fakes(monkeypatch, calibrate)
    out = str(tmp_path / "table.json")
    assert main(["calibrate", "--dataset", str(tmp_path / "missing"), "--out", out]) == 2
    assert main(["calibrate", "--dataset", str(tmp_path), "--out", out]) == 2
    fake_set(tmp_path / "small" / "db1_b", fingers=2, impressions=2)  # 4 + 2 * 8 = 20 impostor scores < 30
    assert main(["calibrate", "--dataset", str(tmp_path / "small"), "--variants", "2", "--out", out]) == 2
    assert main(["calibrate", "--variants", "-1", "--out", out]) == 2
    assert "cannot calibrate FMR 0.1" in capsys.readouterr().err and not Path(out).exists()
