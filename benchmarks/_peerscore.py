"""Scoring one image set with a peer system (:mod:`benchmarks.peers`), the pairs Basma scores.

:func:`score_peer` decodes each image once with Basma's decoder, resampled to 500 dpi (not
timed, like Basma's decoding), extracts it with the peer (timed: ``extract_ms``), then runs
``peer.compare`` on every genuine and impostor pair in turn, on one thread (timed:
``compare_us`` per call and ``compare_per_s`` over the whole pass). An image the peer cannot
decode or extract is a failure to extract: its comparisons score ``peer.min_score`` (a
rejection), as Basma's score 0.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from benchmarks.metrics import error_rates
from benchmarks.peers import Peer, pixels_500dpi
from matcher.errors import MatcherError

__all__ = ["PeerResult", "score_peer"]


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


@dataclass
class PeerResult:
    """One peer's scores and timings on one image set (pairs in the order of Basma's)."""

    name: str
    version: str
    genuine: npt.NDArray[np.float64]
    impostor: npt.NDArray[np.float64]
    failures: list[tuple[Path, str]] = field(default_factory=list)
    extract_ms: list[float] = field(default_factory=list)
    compare_us: list[float] = field(default_factory=list)
    compare_per_s: float | None = None
    compare_errors: int = 0

    def summary(self) -> dict[str, Any]:
        """The peer's report on the set, with the metric keys of Basma's (rates as fractions)."""
        return {
            "name": self.name, "version": self.version, **error_rates(self.genuine, self.impostor),
            "failures_to_extract": len(self.failures), "failed_images": [p.name for p, _ in self.failures],
            "extract_ms_median": _median(self.extract_ms), "compare_us_median": _median(self.compare_us),
            "compare_per_s": self.compare_per_s, "compare_threads": 1, "compare_errors": self.compare_errors,
        }


def _extract(peer: Peer, path: Path, dpi: int | None) -> tuple[Any, float, str]:
    try:
        pixels = pixels_500dpi(path, dpi=dpi)
    except MatcherError as exc:
        return None, 0.0, str(exc)
    start = time.perf_counter()
    try:
        template = peer.extract(pixels)
    except Exception as exc:  # each peer library raises its own types
        return None, 0.0, f"{peer.name}: {type(exc).__name__}: {exc}"
    return template, (time.perf_counter() - start) * 1e3, ""


def score_peer(peer: Peer, paths: Sequence[Path], genuine_pairs: npt.NDArray[np.int64],
               impostor_pairs: npt.NDArray[np.int64], *, dpi: int | None | Sequence[int | None] = None,
               progress: bool = False, desc: str = "peer") -> PeerResult:
    """Extract every image with ``peer`` and score the genuine and impostor pairs (module docstring).

    Parameters
    ----------
    peer : Peer
        A loaded peer (:func:`benchmarks.peers.load_peers`).
    paths : sequence of Path, length n
        The set's images, in the order the pairs index.
    genuine_pairs, impostor_pairs : ndarray of int, shape (k, 2), (m, 2)
        ``(probe, candidate)`` indexes into ``paths``.
    dpi : int or sequence of int or None, optional
        One resolution for every image or one per image, passed to
        :func:`matcher.image.load_image` (``None``: metadata, else 500), as for Basma.
    progress : bool
        Show tqdm bars on stderr.
    desc : str
        The bars' label.

    Returns
    -------
    PeerResult
        ``genuine`` (k,) and ``impostor`` (m,) float64 scores.
    """
    result = PeerResult(name=peer.name, version=peer.version, genuine=np.empty(0), impostor=np.empty(0))
    dpis = list(dpi) if isinstance(dpi, Sequence) else [dpi] * len(paths)
    if paths:
        _extract(peer, paths[0], dpis[0])  # warm-up (model sessions, caches), not timed
    templates = []
    for path, resolution in tqdm(zip(paths, dpis, strict=True), total=len(paths), desc=f"{desc} extract",
                                 unit="img", file=sys.stderr, disable=not progress, leave=False):
        template, ms, error = _extract(peer, path, resolution)
        templates.append(template)
        if template is None:
            result.failures.append((path, error))
        else:
            result.extract_ms.append(ms)
    pairs = np.concatenate([np.asarray(genuine_pairs, np.int64).reshape(-1, 2),
                            np.asarray(impostor_pairs, np.int64).reshape(-1, 2)])
    scores = np.full(len(pairs), peer.min_score, dtype=np.float64)
    start = time.perf_counter()
    for k, (i, j) in enumerate(tqdm(pairs.tolist(), desc=f"{desc} score", unit="pair", file=sys.stderr,
                                    disable=not progress, leave=False, mininterval=0.5)):
        a, b = templates[i], templates[j]
        if a is None or b is None:
            continue
        began = time.perf_counter_ns()
        try:
            scores[k] = peer.compare(a, b)
        except Exception:  # a failure on one pair is a rejection, counted
            result.compare_errors += 1
            continue
        result.compare_us.append((time.perf_counter_ns() - began) / 1e3)
    elapsed = time.perf_counter() - start
    result.compare_per_s = len(result.compare_us) / elapsed if result.compare_us and elapsed > 0 else None
    result.genuine, result.impostor = scores[:len(genuine_pairs)], scores[len(genuine_pairs):]
    return result
