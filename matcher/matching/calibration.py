"""From scores to false match rates: thresholds, 1:1 decisions and multi-finger fusion.

A score means little by itself; what a deployment fixes is the false match rate (FMR) it
accepts. The shipped table ``calibration.json`` (written by ``python -m benchmarks calibrate``
from a large impostor sample, see ``benchmarks/calibrate.py``) lists points ``(fmr,
threshold)``: a fraction ``fmr`` of impostor comparisons score ``>= threshold``.

* :func:`threshold_for_fmr` interpolates the threshold linearly in ``log10(fmr)`` between the
  points; an implicit point ``(1, 0)`` stands for "accept every score" (scores are ``>= 0``).
  Below the table's smallest FMR nothing was measured, so such a request is refused.
* :func:`fmr_for_score` is the inverse (monotone; clamped to ``[smallest fmr, 1]``; where
  several points share a threshold, the smallest of their FMRs is taken).
* :func:`verify` decides ``score >= threshold_for_fmr(fmr)``.
* :func:`fuse` combines the scores of several fingers of one person. Each score becomes its
  FMR ``p_i``; under the null hypothesis "different person" and **assuming the fingers'
  impostor scores are independent**, each ``p_i`` is uniform on ``(0, 1]``, so the chance that
  a product of ``n`` of them is at most ``P = prod(p_i)`` is

  ``F = P * sum_{k=0}^{n-1} (-ln P)^k / k!``

  (``-ln`` of a uniform variable is exponential, a sum of ``n`` is Gamma(n, 1): ``F`` is its
  upper tail at ``-ln P``, Fisher's combination of independent tests). ``F`` is turned back
  into the single-finger score whose FMR is ``F``, so the thresholds of single fingers apply
  to fused scores. Assumptions and limits: independence does not hold exactly (fingers of
  one person are correlated, so ``F`` is optimistic); each ``p_i`` is clamped to the table's
  smallest FMR, so a very strong finger counts as no stronger than that; when ``F`` falls
  below the table, the fused score is the table's highest threshold, or the highest input
  score if that is higher. A weak finger can lower the fused score below the strongest
  single score, as it should.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import gammaincc

from matcher.errors import InvalidParameterError
from matcher.matching.mcc import Matcher
from matcher.template import Template

__all__ = ["FORMAT", "VERSION", "CalibrationTable", "load_table", "threshold_for_fmr", "fmr_for_score",
           "verify", "fuse"]

#: The ``format`` and ``version`` of the tables this module reads.
FORMAT = "basma-calibration"
VERSION = 1
_SHIPPED = "calibration.json"


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True, eq=False)
class CalibrationTable:
    """A validated calibration table: ``fmr`` strictly decreasing in (0, 1), ``threshold`` non-decreasing.

    Build one with :func:`load_table`. ``fmr[-1]`` is the smallest FMR the table supports.
    """

    fmr: npt.NDArray[np.float64]
    threshold: npt.NDArray[np.float64]
    algorithm: str
    impostor_comparisons: int
    created: str

    @property
    def smallest_fmr(self) -> float:
        """The smallest FMR measured; :meth:`threshold_for_fmr` refuses anything lower."""
        return float(self.fmr[-1])

    def _curve(self) -> tuple[np.ndarray, np.ndarray]:
        # -log10(fmr) ascending with the threshold, the implicit point (fmr 1, threshold 0) first.
        return np.r_[0.0, -np.log10(self.fmr)], np.r_[0.0, self.threshold]

    def threshold_for_fmr(self, fmr: float) -> float:
        """The score threshold giving false match rate ``fmr`` (see :func:`threshold_for_fmr`)."""
        value = _real(fmr, "fmr")
        if not 0.0 < value < 1.0:
            raise InvalidParameterError(f"fmr must be in (0, 1), got {fmr!r}")
        if value < self.smallest_fmr * (1.0 - 1e-9):
            raise InvalidParameterError(
                f"fmr {value:g} is below the smallest the calibration table supports, {self.smallest_fmr:g}")
        return self._threshold(value)

    def _threshold(self, fmr: float) -> float:
        x, t = self._curve()
        return float(np.interp(-math.log10(min(max(fmr, self.smallest_fmr), 1.0)), x, t))

    def fmr_for_score(self, score: float) -> float:
        """The false match rate of a threshold at ``score`` (see :func:`fmr_for_score`)."""
        value = _real(score, "score")
        x, t = self._curve()
        last = np.r_[t[1:] != t[:-1], True]  # of points sharing a threshold, keep the smallest fmr
        return float(10.0 ** -np.interp(value, t[last], x[last]))

    def fuse(self, scores: Sequence[float]) -> float:
        """The single-finger-equivalent score of several fingers' scores (see :func:`fuse`)."""
        if isinstance(scores, (str, bytes)) or not isinstance(scores, (Sequence, np.ndarray)):
            raise InvalidParameterError(f"scores must be a sequence of numbers, got {type(scores).__name__}")
        values = [_real(s, f"scores[{i}]") for i, s in enumerate(scores)]
        if not values:
            raise InvalidParameterError("scores is empty: nothing to fuse")
        for i, value in enumerate(values):
            if not 0.0 <= value <= 1.0:
                raise InvalidParameterError(f"scores[{i}] must be in [0, 1], got {value!r}")
        if len(values) == 1:
            return values[0]
        log_product = sum(math.log(self.fmr_for_score(v)) for v in values)
        fused_fmr = float(gammaincc(len(values), -log_product))  # P * sum_k (-ln P)^k / k!
        if fused_fmr < self.smallest_fmr:
            return max(float(self.threshold[-1]), max(values))
        return self._threshold(fused_fmr)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "calibration table") -> CalibrationTable:
        """Validate the parsed JSON of a table; :class:`InvalidParameterError` names what is wrong."""
        if not isinstance(data, Mapping):
            raise InvalidParameterError(f"{where}: must be a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise InvalidParameterError(f"{where}: format must be {FORMAT!r}, got {data.get('format')!r}")
        if data.get("version") != VERSION:
            raise InvalidParameterError(f"{where}: version {data.get('version')!r} is not supported "
                                        f"(this build reads version {VERSION})")
        if data.get("algorithm") != Matcher.ALGORITHM:
            raise InvalidParameterError(
                f"{where}: calibrated for algorithm {data.get('algorithm')!r}, the matcher is "
                f"{Matcher.ALGORITHM!r}; rerun `python -m benchmarks calibrate`")
        try:
            points = np.array(data.get("points"), dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"{where}: points must be a list of [fmr, threshold] numbers") from None
        if points.ndim != 2 or points.shape[1:] != (2,) or len(points) == 0 or not np.all(np.isfinite(points)):
            raise InvalidParameterError(f"{where}: points must be a non-empty list of finite [fmr, threshold]")
        fmr, threshold = points[:, 0].copy(), points[:, 1].copy()
        if np.any(fmr <= 0) or np.any(fmr >= 1) or np.any(np.diff(fmr) >= 0):
            raise InvalidParameterError(f"{where}: point fmr values must be in (0, 1) and strictly decreasing")
        if np.any(threshold < 0) or np.any(np.diff(threshold) < 0):
            raise InvalidParameterError(f"{where}: point thresholds must be >= 0 and non-decreasing")
        comparisons = data.get("impostor_comparisons", 0)
        if isinstance(comparisons, bool) or not isinstance(comparisons, int) or comparisons < 0:
            raise InvalidParameterError(f"{where}: impostor_comparisons must be a count, got {comparisons!r}")
        fmr.flags.writeable = False
        threshold.flags.writeable = False
        return cls(fmr=fmr, threshold=threshold, algorithm=str(data["algorithm"]),
                   impostor_comparisons=comparisons, created=str(data.get("created", "")))


def load_table(source: str | os.PathLike[str] | Mapping[str, Any] | CalibrationTable | None = None
               ) -> CalibrationTable:
    """Load and validate a calibration table.

    Parameters
    ----------
    source : path, mapping or CalibrationTable, optional
        A JSON file, its parsed content, or a table (returned as is); default: the table
        shipped next to this module (read once, then cached).

    Returns
    -------
    CalibrationTable

    Raises
    ------
    InvalidParameterError
        When the file is missing or not JSON, or the table's format, version, algorithm or
        points are wrong (the message names the file and the problem).

    Examples
    --------
    >>> table = load_table({"format": "basma-calibration", "version": 1,
    ...                     "algorithm": Matcher.ALGORITHM, "impostor_comparisons": 1000,
    ...                     "points": [[0.1, 0.2], [0.01, 0.3]]})
    >>> round(table.threshold_for_fmr(0.03), 4), table.smallest_fmr
    (0.2523, 0.01)
    """
    if isinstance(source, CalibrationTable):
        return source
    if source is None:
        return _shipped_table()
    if isinstance(source, Mapping):
        return CalibrationTable.from_dict(source)
    return _read(Path(source))


def _read(path: Path) -> CalibrationTable:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidParameterError(f"cannot read calibration table {path}: {exc.strerror or exc}; "
                                    "write one with `python -m benchmarks calibrate`") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameterError(f"calibration table {path} is not JSON: {exc}") from None
    return CalibrationTable.from_dict(data, where=f"calibration table {path}")


@functools.lru_cache(maxsize=1)
def _shipped_table() -> CalibrationTable:
    with resources.as_file(resources.files("matcher.matching").joinpath(_SHIPPED)) as path:
        return _read(Path(path))


def threshold_for_fmr(fmr: float, *, table: CalibrationTable | None = None) -> float:
    """The score threshold at which a fraction ``fmr`` of impostor comparisons is accepted.

    Log-linear interpolation between the table's points (module docstring).

    Parameters
    ----------
    fmr : float
        In ``(0, 1)``, at least the table's smallest FMR.
    table : CalibrationTable, optional
        Default: the shipped table (:func:`load_table`).

    Returns
    -------
    float

    Raises
    ------
    InvalidParameterError
        When ``fmr`` is outside ``(0, 1)`` or below the table's smallest FMR (the message
        names it).
    """
    return load_table(table).threshold_for_fmr(fmr)


def fmr_for_score(score: float, *, table: CalibrationTable | None = None) -> float:
    """The false match rate of the threshold ``score``: the inverse of :func:`threshold_for_fmr`.

    Non-increasing in ``score``; clamped to ``[table.smallest_fmr, 1]``.

    Raises
    ------
    InvalidParameterError
        When ``score`` is not a finite number.
    """
    return load_table(table).fmr_for_score(score)


def verify(probe: Template, candidate: Template, *, fmr: float = 1e-4,
           table: CalibrationTable | None = None) -> tuple[bool, float]:
    """1:1 decision at false match rate ``fmr``: ``(score >= threshold_for_fmr(fmr), score)``.

    Parameters
    ----------
    probe, candidate : Template
    fmr : float
        The accepted false match rate (default 1e-4, one false match in 10 000 impostor
        comparisons).
    table : CalibrationTable, optional
        Default: the shipped table.

    Returns
    -------
    (bool, float)
        The decision and the score of :meth:`Matcher.score <matcher.matching.Matcher.score>`.

    Raises
    ------
    InvalidParameterError
        When ``fmr`` is out of the table's range (checked before scoring).
    """
    threshold = load_table(table).threshold_for_fmr(fmr)
    score = float(Matcher(probe).score(candidate))
    return score >= threshold, score


def fuse(scores: Sequence[float], *, table: CalibrationTable | None = None) -> float:
    """Fuse the scores of several fingers of one person into one single-finger-equivalent score.

    The rule (product of per-finger FMRs, tail of the product of independent uniforms) and its
    assumptions are in the module docstring. Order does not matter; one score is returned
    unchanged.

    Parameters
    ----------
    scores : sequence of float
        One score in ``[0, 1]`` per finger.
    table : CalibrationTable, optional
        Default: the shipped table.

    Returns
    -------
    float
        A score to compare with :func:`threshold_for_fmr` like a single finger's.

    Raises
    ------
    InvalidParameterError
        When ``scores`` is empty or holds a value that is not a number in ``[0, 1]``.
    """
    return load_table(table).fuse(scores)
