"""1:1 and one-vs-many scoring with Minutia Cylinder-Code (native kernels).

The algorithm is MCC in its bit-vector form with relaxation-based consolidation (Cappelli,
Ferrara & Maltoni, IEEE TPAMI 2010); ``native/mcc.cpp`` labels each block with the paper's
section or equation and :mod:`matcher.matching.reference` is its numpy oracle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.matching import _native
from matcher.params import MatchingParams
from matcher.template import Template

__all__ = ["Matcher", "compare"]

#: The parameters of ``Matcher(probe)``: one shared object, so prepared candidates are found by
#: identity (matcher.matching._native.prepare).
DEFAULT_PARAMS = MatchingParams()


def _check_template(value: object, name: str) -> Template:
    if not isinstance(value, Template):
        raise InvalidTemplateError(f"{name} must be a matcher.Template, got {type(value).__name__}")
    return value


#: More worker threads than this are never started (nor more than candidates).
MAX_THREADS = 256


def _thread_count(threads: int | None) -> int:
    if threads is None:
        return os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise InvalidParameterError(f"threads must be a positive integer or None, got {threads!r}")
    return int(min(threads, MAX_THREADS))


class Matcher:
    """A probe template prepared once for many comparisons.

    Parameters
    ----------
    probe : Template
        The template to compare others with. Any supported dpi: coordinates are rescaled to
        the 500 dpi working resolution.
    params : MatchingParams, optional
        Tunables; the defaults are what the benchmarks and the calibration table use.

    Notes
    -----
    Scores are similarities in ``[0, 1]``; templates with no usable cylinder (fewer than two
    minutiae, or minutiae too sparse) score 0. The score is nearly symmetric: the greedy pair
    selection breaks ties in the probe's order, so ``score(a, b)`` and ``score(b, a)`` can
    differ slightly (docs/RESULTS.md measures by how much). Search structures are built
    on first use of a template object and cached for its lifetime.

    Examples
    --------
    >>> import numpy as np
    >>> from matcher import Template
    >>> rng = np.random.default_rng(1)
    >>> t = Template(x=rng.integers(20, 280, 40), y=rng.integers(20, 380, 40),
    ...              angle=rng.uniform(0, 6.28, 40), kind=np.ones(40, int), quality=np.full(40, 80),
    ...              width=300, height=400)
    >>> Matcher(t).score(t) > 0.99
    True
    >>> np.round(Matcher(t).score_many([t, Template.empty(width=300, height=400)]), 2).tolist()
    [1.0, 0.0]
    """

    #: Identifier of the algorithm and its score scale; calibration tables name it.
    ALGORITHM = "mcc16b-lgsr/1"

    def __init__(self, probe: Template, *, params: MatchingParams | None = None) -> None:
        self.probe = _check_template(probe, "probe")
        self.params = DEFAULT_PARAMS if params is None else params
        if not isinstance(self.params, MatchingParams):
            raise InvalidParameterError(f"params must be MatchingParams, got {type(self.params).__name__}")
        self._prepared = _native.prepare(self.probe, self.params)

    def score(self, candidate: Template) -> float:
        """Similarity of the probe and ``candidate`` in ``[0, 1]``."""
        prepared = _native.prepare(_check_template(candidate, "candidate"), self.params)
        return _native.score(self._prepared, prepared)

    def score_many(self, candidates: Sequence[Template], *, threads: int | None = None
                   ) -> npt.NDArray[np.float32]:
        """Scores against every candidate, computed natively with the GIL released.

        Parameters
        ----------
        candidates : sequence of Template
        threads : int, optional
            Worker threads (default: all cores; at most :data:`MAX_THREADS`).

        Returns
        -------
        ndarray of float32, shape (len(candidates),)
        """
        count = _thread_count(threads)
        params = self.params
        prepared = []
        for i, candidate in enumerate(candidates):
            if not isinstance(candidate, Template):
                _check_template(candidate, f"candidates[{i}]")
            prepared.append(_native.prepare(candidate, params))
        return _native.score_many(self._prepared, prepared, count)


def compare(a: Template, b: Template, *, params: MatchingParams | None = None) -> float:
    """Similarity of two templates in ``[0, 1]``: ``Matcher(a, params=params).score(b)``."""
    return Matcher(a, params=params).score(b)
