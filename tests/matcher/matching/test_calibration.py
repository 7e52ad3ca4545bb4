"""matcher.matching.calibration: table loading, interpolation, decisions and multi-finger fusion."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.errors import InvalidParameterError
from matcher.matching import calibration
from matcher.matching.calibration import CalibrationTable, fmr_for_score, fuse, load_table, threshold_for_fmr
from matcher.matching.mcc import Matcher
from matcher.template import Template

POINTS = [[0.1, 0.2], [0.05, 0.25], [0.01, 0.3], [1e-3, 0.4], [1e-4, 0.5]]


def table_dict(**changes: Any) -> dict[str, Any]:
    data = {"format": "basma-calibration", "version": 1, "algorithm": Matcher.ALGORITHM,
            "impostor_comparisons": 100_000, "sources": [], "created": "2026-01-01", "points": POINTS}
    data.update(changes)
    return data


@pytest.fixture
def table(tmp_path: Path) -> CalibrationTable:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(table_dict()))
    return load_table(path)


def test_loads_from_a_file_a_mapping_or_a_table(table: CalibrationTable) -> None:
    assert table.fmr.tolist() == [p[0] for p in POINTS] and table.threshold.tolist() == [p[1] for p in POINTS]
    assert table.smallest_fmr == 1e-4 and table.impostor_comparisons == 100_000
    assert table.algorithm == Matcher.ALGORITHM and table.created == "2026-01-01"
    assert load_table(table) is table
    assert load_table(table_dict()).threshold.tolist() == table.threshold.tolist()
    with pytest.raises(ValueError):
        table.fmr[0] = 0.5  # read-only


def test_threshold_at_points_and_log_linear_between(table: CalibrationTable) -> None:
    for fmr, threshold in POINTS:
        assert threshold_for_fmr(fmr, table=table) == pytest.approx(threshold)
    assert threshold_for_fmr(10 ** -2.5, table=table) == pytest.approx(0.35)
    assert threshold_for_fmr(10 ** -3.25, table=table) == pytest.approx(0.425)
    # Between fmr 1 (threshold 0: every score is >= 0) and the first point.
    assert threshold_for_fmr(10 ** -0.5, table=table) == pytest.approx(0.1)
    grid = np.logspace(-0.001, -4, 200)
    thresholds = [threshold_for_fmr(f, table=table) for f in grid]
    assert np.all(np.diff(thresholds) > 0)


def test_fmr_for_score_inverts_and_clamps(table: CalibrationTable) -> None:
    for fmr in np.logspace(-0.01, -4, 50):
        assert fmr_for_score(threshold_for_fmr(fmr, table=table), table=table) == pytest.approx(fmr, rel=1e-9)
    scores = np.linspace(-0.5, 1.5, 101)
    rates = [fmr_for_score(s, table=table) for s in scores]
    assert np.all(np.diff(rates) <= 0)
    assert fmr_for_score(0.0, table=table) == 1.0 and fmr_for_score(-3.0, table=table) == 1.0
    assert fmr_for_score(0.5, table=table) == pytest.approx(1e-4)
    assert fmr_for_score(0.99, table=table) == pytest.approx(1e-4)


def test_tied_thresholds_give_the_smallest_fmr() -> None:
    tied = load_table(table_dict(points=[[0.1, 0.2], [0.01, 0.3], [0.005, 0.3], [0.001, 0.4]]))
    assert tied.fmr_for_score(0.3) == pytest.approx(0.005)
    assert tied.threshold_for_fmr(0.007) == pytest.approx(0.3)
    assert tied.fmr_for_score(0.35) == pytest.approx(math.sqrt(0.005 * 0.001))  # from the smaller fmr


@pytest.mark.parametrize("fmr", [0.0, 1.0, -0.1, 1.5, math.nan, math.inf, True, "0.01", None])
def test_fmr_out_of_range(table: CalibrationTable, fmr: object) -> None:
    with pytest.raises(InvalidParameterError, match="fmr"):
        threshold_for_fmr(fmr, table=table)  # type: ignore[arg-type]


def test_fmr_below_the_table_names_the_smallest(table: CalibrationTable) -> None:
    with pytest.raises(InvalidParameterError, match=r"smallest .* 0\.0001"):
        threshold_for_fmr(5e-5, table=table)
    with pytest.raises(InvalidParameterError, match="score"):
        fmr_for_score(math.nan, table=table)


def test_fuse_two_fingers_at_one_percent(table: CalibrationTable) -> None:
    # p1 = p2 = 1e-2: P = 1e-4, F = P * (1 + ln(1/P)).
    fused = fuse([0.3, 0.3], table=table)
    assert fmr_for_score(fused, table=table) == pytest.approx(1e-4 * (1 + math.log(1e4)), rel=1e-9)
    three = fuse([0.3, 0.3, 0.3], table=table)
    expected = 1e-6 * sum(math.log(1e6) ** k / math.factorial(k) for k in range(3))
    assert expected > 1e-4 and three > fused and fmr_for_score(three, table=table) == pytest.approx(expected, rel=1e-9)


def test_fuse_properties(table: CalibrationTable) -> None:
    assert fuse([0.37], table=table) == 0.37 and fuse((0.0,), table=table) == 0.0
    for scores in ([0.3, 0.35], [0.25, 0.4, 0.33], [0.45, 0.42]):
        fused = fuse(scores, table=table)
        assert fused >= max(scores)
        assert fuse(list(reversed(scores)), table=table) == pytest.approx(fused, abs=1e-15)
    # A non-matching finger weakens the evidence of a strong one.
    assert fuse([0.4, 0.0], table=table) < 0.4
    # Monotone in each score.
    values = [fuse([0.35, s], table=table) for s in np.linspace(0, 1, 41)]
    assert np.all(np.diff(values) >= 0)
    # Beyond the table: the top threshold, or the highest score if higher.
    assert fuse([0.5, 0.5], table=table) == 0.5 and fuse([0.9, 0.8], table=table) == 0.9


@pytest.mark.parametrize("scores", [[], [0.5, math.nan], [0.5, 1.2], [-0.1, 0.5], "0.5", [0.2, "x"], 0.5])
def test_fuse_rejects(table: CalibrationTable, scores: Any) -> None:
    with pytest.raises(InvalidParameterError, match="scores"):
        fuse(scores, table=table)


def test_verify_decides_at_the_threshold(table: CalibrationTable, monkeypatch: pytest.MonkeyPatch) -> None:
    class Scores035:
        ALGORITHM = Matcher.ALGORITHM

        def __init__(self, probe: Template) -> None:
            self.probe = probe

        def score(self, candidate: Template) -> float:
            return 0.35

    monkeypatch.setattr(calibration, "Matcher", Scores035)
    t = Template(x=[1], y=[1], angle=[0.0], kind=[1], quality=[50], width=10, height=10)
    assert calibration.verify(t, t, fmr=1e-2, table=table) == (True, 0.35)
    assert calibration.verify(t, t, fmr=10 ** -2.5, table=table) == (True, 0.35)  # threshold exactly 0.35
    assert calibration.verify(t, t, fmr=1e-3, table=table) == (False, 0.35)
    with pytest.raises(InvalidParameterError):
        calibration.verify(t, t, fmr=1e-6, table=table)


@pytest.mark.parametrize("changes, message", [
    ({"format": "other"}, "format"),
    ({"version": 2}, "version 2"),
    ({"algorithm": "mcc/0"}, "algorithm 'mcc/0'"),
    ({"points": []}, "non-empty"),
    ({"points": [[0.1, 0.2], [0.1, 0.3]]}, "strictly decreasing"),
    ({"points": [[0.1, 0.3], [0.01, 0.2]]}, "non-decreasing"),
    ({"points": [[1.0, 0.3]]}, r"\(0, 1\)"),
    ({"points": [[0.1, "x"]]}, "points"),
    ({"points": [[0.1, math.inf]]}, "finite"),
    ({"impostor_comparisons": -1}, "impostor_comparisons"),
])
def test_bad_tables(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        load_table(table_dict(**changes))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="cannot read"):
        load_table(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidParameterError, match="not JSON"):
        load_table(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(InvalidParameterError, match="JSON object"):
        load_table(tmp_path / "list.json")


def test_shipped_table_is_valid() -> None:
    shipped = Path(calibration.__file__).with_name("calibration.json")
    if not shipped.is_file():
        pytest.skip(f"no calibration table shipped yet ({shipped}); run `python -m benchmarks calibrate`")
    table = load_table()
    assert table.algorithm == Matcher.ALGORITHM and table.impostor_comparisons > 0
    assert table.smallest_fmr * table.impostor_comparisons >= 3
    assert threshold_for_fmr(1e-2) <= threshold_for_fmr(table.smallest_fmr)
