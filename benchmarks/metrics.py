"""Verification error rates from genuine and impostor scores (higher score = more similar).

The definitions are those of the Fingerprint Verification Competitions (Maio, Maltoni,
Cappelli, Wayman, Jain, "FVC2000: Fingerprint Verification Competition", IEEE PAMI 24(3),
2002, section 4.2), with a comparison accepted when ``score >= t``:

* ``FMR(t)``  = fraction of impostor scores ``>= t`` (false matches);
* ``FNMR(t)`` = fraction of genuine scores ``< t`` (false non-matches);
* ``EER``: where the two curves cross. Scores are discrete, so the curves are steps and may
  not cross exactly; FVC then takes ``t1`` = the largest ``t`` with ``FNMR(t) <= FMR(t)``,
  ``t2`` = the smallest ``t`` with ``FNMR(t) >= FMR(t)``, the interval ``[EER_low,
  EER_high]`` = ``[FNMR(t1), FMR(t1)]`` if ``FNMR(t1) + FMR(t1) <= FNMR(t2) + FMR(t2)``, else
  ``[FMR(t2), FNMR(t2)]``, and reports its midpoint;
* ``FMR100``, ``FMR1000``, ``ZeroFMR``: the lowest FNMR among thresholds whose FMR is
  ``<= 1 %``, ``<= 0.1 %``, ``= 0`` (:func:`fnmr_at_fmr`).

Both rates only change at score values, so every figure is computed over the candidate
thresholds "each distinct score, plus one just above the largest" (:func:`thresholds`).
Pure numpy; rates are fractions, not percent.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from matcher.errors import InvalidParameterError

__all__ = ["EqualErrorRate", "DetCurve", "thresholds", "false_match_rate", "false_non_match_rate",
           "eer", "fnmr_at_fmr", "det_curve", "error_rates"]


class EqualErrorRate(NamedTuple):
    """The FVC equal error rate: ``eer`` is the midpoint of ``[low, high]``, reached at ``threshold``."""

    eer: float
    low: float
    high: float
    threshold: float


class DetCurve(NamedTuple):
    """Error rates at each candidate threshold, thresholds ascending (so ``fmr`` descending)."""

    fmr: npt.NDArray[np.float64]
    fnmr: npt.NDArray[np.float64]
    thresholds: npt.NDArray[np.float64]


def _scores(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} scores must be numbers: {exc}") from None
    if array.ndim != 1:
        raise InvalidParameterError(f"{name} scores must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise InvalidParameterError(f"{name} scores are empty: no error rate can be computed")
    if not np.all(np.isfinite(array)):
        raise InvalidParameterError(f"{name} scores must be finite")
    return np.sort(array)


def thresholds(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Candidate thresholds: every distinct score, plus the next float above the largest.

    Between two consecutive distinct scores both rates are constant, so these thresholds
    reach every value the (FMR, FNMR) pair can take.

    Raises
    ------
    InvalidParameterError
        When a score array is empty, not one-dimensional, or holds NaN or infinity.

    Examples
    --------
    >>> thresholds([0.5, 0.25], [0.25]).tolist()[:2]
    [0.25, 0.5]
    """
    scores = np.unique(np.concatenate([_scores(genuine, "genuine"), _scores(impostor, "impostor")]))
    return np.append(scores, np.nextafter(scores[-1], np.inf))


def false_match_rate(impostor: npt.ArrayLike, threshold: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``FMR(t)``: the fraction of impostor scores ``>= t``, for each threshold.

    Examples
    --------
    >>> false_match_rate([0.1, 0.2, 0.2, 0.4], [0.2, 0.3]).tolist()
    [0.75, 0.25]
    """
    scores = _scores(impostor, "impostor")
    below = np.searchsorted(scores, np.asarray(threshold, dtype=np.float64), side="left")
    return (scores.size - below) / scores.size


def false_non_match_rate(genuine: npt.ArrayLike, threshold: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``FNMR(t)``: the fraction of genuine scores ``< t``, for each threshold.

    Examples
    --------
    >>> false_non_match_rate([0.5, 0.7, 0.7, 0.9], [0.7, 1.0]).tolist()
    [0.25, 1.0]
    """
    scores = _scores(genuine, "genuine")
    return np.searchsorted(scores, np.asarray(threshold, dtype=np.float64), side="left") / scores.size


def det_curve(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> DetCurve:
    """FMR and FNMR at every candidate threshold (:func:`thresholds`), thresholds ascending.

    Parameters
    ----------
    genuine, impostor : array_like of float, shape (n,), (m,)
        Scores of same-finger and different-finger comparisons; neither may be empty.

    Returns
    -------
    DetCurve
        ``fmr`` non-increasing from 1 (at the lowest score) to 0, ``fnmr`` non-decreasing from 0
        to 1 (above the largest score), ``thresholds`` strictly increasing.

    Raises
    ------
    InvalidParameterError
        When a score array is empty, not one-dimensional, or not finite.

    Examples
    --------
    >>> curve = det_curve([0.6, 0.9], [0.1, 0.6])
    >>> curve.fmr.tolist(), curve.fnmr.tolist()
    ([1.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 1.0])
    """
    t = thresholds(genuine, impostor)
    return DetCurve(false_match_rate(impostor, t), false_non_match_rate(genuine, t), t)


def eer(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> EqualErrorRate:
    """The equal error rate with the FVC definition (module docstring), and its interval.

    Parameters
    ----------
    genuine, impostor : array_like of float
        Scores; neither may be empty.

    Returns
    -------
    EqualErrorRate
        ``eer = (low + high) / 2``; ``low == high`` when the curves cross exactly;
        ``threshold`` is ``t1`` or ``t2``, whichever gave the interval.

    Raises
    ------
    InvalidParameterError
        When a score array is empty, not one-dimensional, or not finite.

    Examples
    --------
    >>> eer([0.8, 0.9], [0.1, 0.2]).eer
    0.0
    >>> result = eer([0.3, 0.7], [0.5, 0.6])
    >>> result.low, result.high, result.eer
    (0.5, 0.5, 0.5)
    """
    fmr, fnmr, t = det_curve(genuine, impostor)
    # FNMR - FMR is non-decreasing in t: FNMR <= FMR holds on a prefix, FNMR >= FMR on a suffix.
    # At the lowest score FNMR = 0 and above the highest FMR = 0, so both sets are non-empty.
    i1 = int(np.flatnonzero(fnmr <= fmr)[-1])
    i2 = int(np.flatnonzero(fnmr >= fmr)[0])
    if fnmr[i1] + fmr[i1] <= fnmr[i2] + fmr[i2]:
        low, high, threshold = fnmr[i1], fmr[i1], t[i1]
    else:
        low, high, threshold = fmr[i2], fnmr[i2], t[i2]
    return EqualErrorRate(float((low + high) / 2), float(low), float(high), float(threshold))


def fnmr_at_fmr(genuine: npt.ArrayLike, impostor: npt.ArrayLike, fmr: float) -> float:
    """The lowest FNMR among thresholds whose FMR is at most ``fmr``.

    ``fmr=0.01`` gives FVC's FMR100, ``0.001`` FMR1000 and ``0`` ZeroFMR (the lowest FNMR with
    no false match at all). FNMR grows with the threshold, so it is the FNMR at the smallest
    threshold that meets the FMR bound.

    Parameters
    ----------
    genuine, impostor : array_like of float
        Scores; neither may be empty.
    fmr : float
        The FMR bound, in ``[0, 1]``.

    Returns
    -------
    float

    Raises
    ------
    InvalidParameterError
        When ``fmr`` is outside ``[0, 1]`` or a score array is empty or not finite.

    Examples
    --------
    >>> fnmr_at_fmr([0.3, 0.5, 0.9, 0.95], [0.1, 0.4, 0.6], 0.0)
    0.5
    >>> fnmr_at_fmr([0.3, 0.5, 0.9, 0.95], [0.1, 0.4, 0.6], 0.5)
    0.25
    >>> fnmr_at_fmr([0.3, 0.5, 0.9, 0.95], [0.1, 0.4, 0.6], 0.7)
    0.0
    """
    if isinstance(fmr, bool) or not isinstance(fmr, (int, float, np.floating, np.integer)) \
            or not 0.0 <= fmr <= 1.0:
        raise InvalidParameterError(f"fmr must be a number in [0, 1], got {fmr!r}")
    rates, fnmr, _ = det_curve(genuine, impostor)
    return float(fnmr[int(np.flatnonzero(rates <= fmr)[0])])


def error_rates(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> dict[str, float]:
    """The report's error rates of one system on one set, as plain floats (fractions).

    Returns
    -------
    dict
        ``eer``, ``eer_low``, ``eer_high``, ``threshold_at_eer`` (:func:`eer`), ``fmr100``,
        ``fmr1000`` and ``zerofmr`` (:func:`fnmr_at_fmr` at 1 %, 0.1 % and 0).

    Raises
    ------
    InvalidParameterError
        When a score array is empty, not one-dimensional, or not finite.

    Examples
    --------
    >>> rates = error_rates([0.8, 0.9], [0.1, 0.85])
    >>> rates["eer"], rates["zerofmr"]
    (0.5, 0.5)
    """
    equal = eer(genuine, impostor)
    return {"eer": equal.eer, "eer_low": equal.low, "eer_high": equal.high, "threshold_at_eer": equal.threshold,
            "fmr100": fnmr_at_fmr(genuine, impostor, 1e-2), "fmr1000": fnmr_at_fmr(genuine, impostor, 1e-3),
            "zerofmr": fnmr_at_fmr(genuine, impostor, 0.0)}
