"""Comparison pairs of the FVC protocol, and scoring them with one prepared probe per batch.

Pairs are ``(probe, candidate)`` rows of indexes into a list of images sorted by finger, then
impression (the order of :func:`datasets.iter_fvc`), with ``probe < candidate``: FVC never
runs the symmetric comparison.

* genuine: every pair of impressions of the same finger (FVC2002: 100 x 8 x 7 / 2 = 2800);
* impostor ``"fvc"``: the first impression of each finger against the first impression of
  every other finger (FVC2002: 100 x 99 / 2 = 4950);
* impostor ``"all"``: every pair of images of different fingers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from matcher.errors import InvalidParameterError
from matcher.template import Template

__all__ = ["IMPOSTOR_PROTOCOLS", "ALL_IMPOSTORS_MAX_IMAGES", "default_impostors", "genuine_pairs",
           "impostor_pairs", "score_pairs"]

#: Impostor protocols accepted by :func:`impostor_pairs`.
IMPOSTOR_PROTOCOLS = ("fvc", "all")
#: Sets up to this many images default to the ``"all"`` impostor protocol (about 2 million pairs).
ALL_IMPOSTORS_MAX_IMAGES = 2000


class Scorer(Protocol):
    """What :func:`score_pairs` needs of a prepared probe (:class:`matcher.matching.Matcher`)."""

    def score_many(self, candidates: Sequence[Template], *, threads: int | None = None) -> np.ndarray: ...


def default_impostors(images: int) -> str:
    """``"all"`` for sets of at most :data:`ALL_IMPOSTORS_MAX_IMAGES` images, else ``"fvc"``."""
    return "all" if images <= ALL_IMPOSTORS_MAX_IMAGES else "fvc"


def _codes(fingers: Sequence[Hashable]) -> npt.NDArray[np.int64]:
    index: dict[Hashable, int] = {}
    codes = np.array([index.setdefault(f, len(index)) for f in fingers], dtype=np.int64)
    if codes.size and np.any(np.diff(codes) < 0):
        raise InvalidParameterError("images must be grouped by finger (sorted by finger, then impression)")
    return codes


def _starts(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Index of the first image of each finger."""
    return np.flatnonzero(np.r_[True, np.diff(codes) != 0]) if codes.size else codes


def _pairs(rows: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    return np.concatenate(rows).reshape(-1, 2) if rows else np.empty((0, 2), dtype=np.int64)


def genuine_pairs(fingers: Sequence[Hashable]) -> npt.NDArray[np.int64]:
    """Every pair ``i < j`` of images of the same finger.

    Parameters
    ----------
    fingers : sequence of hashable, length n
        The finger of each image, grouped (all images of one finger consecutive).

    Returns
    -------
    ndarray of int64, shape (k, 2)
        ``k = sum(m * (m - 1) / 2)`` over fingers with ``m`` images, by finger then ``i``, ``j``.

    Raises
    ------
    InvalidParameterError
        When the images of a finger are not consecutive.

    Examples
    --------
    >>> genuine_pairs(["a", "a", "a", "b"]).tolist()
    [[0, 1], [0, 2], [1, 2]]
    """
    codes = _codes(fingers)
    starts = _starts(codes)
    rows = []
    for start, stop in zip(starts, np.r_[starts[1:], codes.size][:starts.size], strict=True):
        i, j = np.triu_indices(int(stop - start), k=1)
        rows.append(np.stack([i + start, j + start], axis=1).astype(np.int64).ravel())
    return _pairs(rows)


def impostor_pairs(fingers: Sequence[Hashable], protocol: str = "fvc") -> npt.NDArray[np.int64]:
    """Pairs ``i < j`` of images of different fingers, by the ``protocol`` (module docstring).

    Parameters
    ----------
    fingers : sequence of hashable, length n
        The finger of each image, grouped, the first impression first.
    protocol : {"fvc", "all"}

    Returns
    -------
    ndarray of int64, shape (k, 2)
        ``"fvc"``: ``f * (f - 1) / 2`` pairs for ``f`` fingers; ``"all"``: every cross-finger pair.

    Raises
    ------
    InvalidParameterError
        When ``protocol`` is unknown or the images of a finger are not consecutive.

    Examples
    --------
    >>> impostor_pairs(["a", "a", "b", "b", "c"]).tolist()
    [[0, 2], [0, 4], [2, 4]]
    >>> len(impostor_pairs(["a", "a", "b", "b", "c"], "all"))
    8
    """
    if protocol not in IMPOSTOR_PROTOCOLS:
        raise InvalidParameterError(f"protocol must be one of {IMPOSTOR_PROTOCOLS}, got {protocol!r}")
    codes = _codes(fingers)
    if protocol == "fvc":
        firsts = _starts(codes)
        i, j = np.triu_indices(firsts.size, k=1)
        return np.stack([firsts[i], firsts[j]], axis=1).astype(np.int64)
    rows = []
    for i in range(codes.size - 1):  # one row of the upper triangle at a time: O(n) memory per step
        j = np.flatnonzero(codes[i + 1:] != codes[i]) + i + 1
        rows.append(np.stack([np.full(j.size, i), j], axis=1).ravel())
    return _pairs(rows)


def score_pairs(templates: Sequence[Template | None], pairs: npt.NDArray[np.int64], *,
                matcher: Callable[[Template], Scorer], threads: int | None = None,
                progress: bool = False, desc: str = "scoring") -> npt.NDArray[np.float32]:
    """Score ``pairs``: each probe is prepared once and scored against all its candidates in one batch.

    Parameters
    ----------
    templates : sequence of Template or None
        ``None`` marks a failure to extract: its comparisons score 0 (a rejection, as in FVC).
    pairs : ndarray of int, shape (k, 2)
        ``(probe, candidate)`` indexes into ``templates``.
    matcher : callable
        ``matcher(probe)`` returns an object with ``score_many(candidates, threads=...)``
        (:class:`matcher.matching.Matcher`).
    threads : int, optional
        Passed to ``score_many``.
    progress : bool
        Show a tqdm bar (one step per probe) on stderr.
    desc : str
        The bar's label.

    Returns
    -------
    ndarray of float32, shape (k,)
        The score of each pair, in the order of ``pairs``.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    scores = np.zeros(len(pairs), dtype=np.float32)
    order = np.argsort(pairs[:, 0], kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(pairs[order, 0]) != 0]) if len(pairs) else order
    bounds = np.r_[starts, len(pairs)]
    for start, stop in tqdm(zip(bounds[:-1], bounds[1:], strict=True), total=len(starts), desc=desc,
                            unit="probe", file=sys.stderr, disable=not progress, leave=False):
        rows = order[start:stop]
        probe = templates[int(pairs[rows[0], 0])]
        if probe is None:
            continue
        candidates = [templates[int(j)] for j in pairs[rows, 1]]
        valid = np.array([c is not None for c in candidates], dtype=bool)
        if valid.any():
            batch = [c for c in candidates if c is not None]
            scores[rows[valid]] = np.asarray(matcher(probe).score_many(batch, threads=threads),
                                             dtype=np.float32)
    return scores
