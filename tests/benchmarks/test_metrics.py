"""benchmarks.metrics: FVC error rates on hand-computed examples and against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.metrics import (
    det_curve,
    eer,
    false_match_rate,
    false_non_match_rate,
    fnmr_at_fmr,
    thresholds,
)
from matcher.errors import InvalidParameterError

# Ties between and within the two sets. Thresholds .1 .2 .5 .6 .9 .95 next:
#   FMR  (4 impostors >= t): 1    .75  .75  .25  0    0    0
#   FNMR (5 genuine    < t): 0    0    .2   .6   .6   .8   1
GENUINE = [0.2, 0.5, 0.5, 0.9, 0.95]
IMPOSTOR = [0.1, 0.5, 0.5, 0.6]


def test_rates_with_ties_at_every_threshold() -> None:
    t = thresholds(GENUINE, IMPOSTOR)
    assert t[:-1].tolist() == [0.1, 0.2, 0.5, 0.6, 0.9, 0.95] and t[-1] > 0.95
    assert false_match_rate(IMPOSTOR, t).tolist() == [1, 0.75, 0.75, 0.25, 0, 0, 0]
    assert false_non_match_rate(GENUINE, t).tolist() == pytest.approx([0, 0, 0.2, 0.6, 0.6, 0.8, 1])
    curve = det_curve(GENUINE, IMPOSTOR)
    assert curve.thresholds.tolist() == t.tolist() and curve.fmr.tolist() == [1, 0.75, 0.75, 0.25, 0, 0, 0]


def test_eer_interval_when_curves_do_not_cross() -> None:
    # t1 = .5 (FNMR .2 <= FMR .75, sum .95); t2 = .6 (FNMR .6 >= FMR .25, sum .85): the smaller sum
    # wins, so [EER_low, EER_high] = [FMR(t2), FNMR(t2)] = [.25, .6].
    result = eer(GENUINE, IMPOSTOR)
    assert (result.low, result.high, result.threshold) == pytest.approx((0.25, 0.6, 0.6))
    assert result.eer == pytest.approx(0.425)


def test_eer_interval_from_t1_when_its_sum_is_smaller() -> None:
    # Thresholds .1 .45 .5 .55 .6 .65 .9: FMR 1 .8 .6 .6 .4 .2 0; FNMR 0 0 0 .75 .75 .75 .75.
    # t1 = .5 (0 <= .6, sum .6); t2 = .55 (.75 >= .6, sum 1.35): [FNMR(t1), FMR(t1)] = [0, .6].
    result = eer([0.5, 0.5, 0.5, 0.9], [0.1, 0.45, 0.55, 0.6, 0.65])
    assert (result.low, result.high, result.threshold) == pytest.approx((0.0, 0.6, 0.5))
    assert result.eer == pytest.approx(0.3)


def test_eer_exact_crossing() -> None:
    # At t = .6 both rates are 1/4.
    result = eer([0.4, 0.6, 0.8, 0.9], [0.1, 0.2, 0.5, 0.7])
    assert result == pytest.approx((0.25, 0.25, 0.25, 0.6))


def test_perfect_separation() -> None:
    genuine, impostor = [0.7, 0.8, 0.9], [0.1, 0.2, 0.65]
    assert eer(genuine, impostor)[:3] == (0.0, 0.0, 0.0)
    assert fnmr_at_fmr(genuine, impostor, 0.0) == 0.0
    assert fnmr_at_fmr(genuine, impostor, 0.01) == 0.0


def test_total_overlap() -> None:
    scores = [0.5, 0.5, 0.5]
    result = eer(scores, scores)
    assert (result.low, result.high, result.eer) == (0.0, 1.0, 0.5)
    assert fnmr_at_fmr(scores, scores, 0.0) == 1.0
    assert fnmr_at_fmr(scores, scores, 1.0) == 0.0


def test_fnmr_at_fmr_operating_points() -> None:
    assert fnmr_at_fmr(GENUINE, IMPOSTOR, 0.0) == pytest.approx(0.6)   # t = .9
    assert fnmr_at_fmr(GENUINE, IMPOSTOR, 0.25) == pytest.approx(0.6)  # t = .6
    assert fnmr_at_fmr(GENUINE, IMPOSTOR, 0.8) == 0.0                  # t = .2
    assert fnmr_at_fmr(GENUINE, IMPOSTOR, 0.7499) == pytest.approx(0.6)


def test_rates_match_brute_force_on_random_scores() -> None:
    rng = np.random.default_rng(7)
    genuine = np.round(rng.normal(0.6, 0.15, 300), 2)  # rounding makes many ties
    impostor = np.round(rng.normal(0.3, 0.1, 2000), 2)
    curve = det_curve(genuine, impostor)
    for t, fmr, fnmr in zip(curve.thresholds, curve.fmr, curve.fnmr, strict=True):
        assert fmr == np.mean(impostor >= t) and fnmr == np.mean(genuine < t)
    assert np.all(np.diff(curve.fmr) <= 0) and np.all(np.diff(curve.fnmr) >= 0)
    for target in (0.0, 1e-3, 1e-2, 0.1):
        allowed = curve.fmr <= target
        assert fnmr_at_fmr(genuine, impostor, target) == curve.fnmr[allowed].min()
    result = eer(genuine, impostor)
    assert result.low <= result.eer <= result.high
    # No threshold has both rates below the interval's lower end.
    assert not np.any((curve.fmr < result.low) & (curve.fnmr < result.low))


@pytest.mark.parametrize("genuine, impostor", [([], [0.1]), ([0.5], []), ([[0.5]], [0.1]),
                                               ([np.nan], [0.1]), ([0.5], [np.inf]), (["a"], [0.1])])
def test_bad_scores_are_typed_errors(genuine: list, impostor: list) -> None:
    with pytest.raises(InvalidParameterError):
        eer(genuine, impostor)
    with pytest.raises(InvalidParameterError):
        det_curve(genuine, impostor)


@pytest.mark.parametrize("fmr", [-0.1, 1.5, np.nan, True, "0.01"])
def test_fmr_bound_out_of_range(fmr: object) -> None:
    with pytest.raises(InvalidParameterError, match="fmr"):
        fnmr_at_fmr([0.5], [0.1], fmr)  # type: ignore[arg-type]
