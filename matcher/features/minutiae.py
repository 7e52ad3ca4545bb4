"""Minutiae detection on the skeleton and their direction (Handbook §3.7).

Candidates are skeleton pixels with crossing number 1 (ridge ending) or 3 (bifurcation)
(Arcelli & Baja 1984; Handbook eq. 3.9). Each candidate's branches are traced along the
skeleton; the traces give the direction (here) and the evidence used to remove false
minutiae (``filtering.py``).

Direction: the traced branch gives a coarse direction with its sense (for an ending, into
the ridge; for a bifurcation, the bisector of the two branches that are closest in angle,
i.e. into the gap between them); the smoothed orientation field gives the precise axis,
whose sense is chosen to agree with the trace (as NBIS mindtct does with its direction map).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.features import _kernels
from matcher.params import MinutiaeParams
from matcher.template import MinutiaKind


@dataclass
class Candidates:
    """Minutiae in array coordinates during extraction (mutable working set)."""

    row: np.ndarray          # int64
    col: np.ndarray          # int64
    kind: np.ndarray         # uint8 MinutiaKind
    direction: np.ndarray    # float64 rad, array frame: (d_col, d_row) = (cos, sin)
    quality: np.ndarray      # float64 0..100
    trace: tuple             # the arrays returned by _kernels.trace_minutiae

    def __len__(self) -> int:
        return int(self.row.shape[0])

    def select(self, keep: np.ndarray) -> Candidates:
        return Candidates(self.row[keep], self.col[keep], self.kind[keep], self.direction[keep],
                          self.quality[keep], tuple(a[keep] for a in self.trace))

    def as_records(self, origin: np.ndarray) -> np.ndarray:
        """A structured array (row, col, kind, direction, quality) for transparency, with
        positions shifted by ``origin`` (row, col) into full-image coordinates."""
        out = np.zeros(len(self), dtype=[("row", "i4"), ("col", "i4"), ("kind", "u1"),
                                         ("direction", "f4"), ("quality", "f4")])
        out["row"], out["col"], out["kind"] = self.row + origin[0], self.col + origin[1], self.kind
        out["direction"], out["quality"] = self.direction, self.quality
        return out


def _angle_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute difference of directions in [0, pi]."""
    d = np.mod(a - b, 2.0 * np.pi)
    return np.minimum(d, 2.0 * np.pi - d)


def detect(skeleton: np.ndarray, cn: np.ndarray, mask: np.ndarray, orientation: np.ndarray,
           params: MinutiaeParams) -> Candidates:
    """Crossing-number candidates inside the mask, traced and oriented."""
    ending = (cn == 1) & mask
    fork = (cn == 3) & mask
    rows, cols = np.nonzero(ending | fork)
    kind = np.where(fork[rows, cols], MinutiaKind.BIFURCATION, MinutiaKind.ENDING).astype(np.uint8)
    max_steps = max(params.spur_length_px, params.island_length_px, params.bridge_length_px,
                    params.direction_max_px) + 1
    trace = _kernels.trace_minutiae(skeleton, cn, rows.astype(np.int64), cols.astype(np.int64),
                                    max_steps, params.direction_min_px, params.direction_max_px)
    branches, _, _, _, _, dir_r, dir_c = trace
    branch_angle = np.arctan2(dir_r, dir_c)                       # (n, 3)
    coarse = branch_angle[:, 0].copy()
    forks = np.nonzero((kind == MinutiaKind.BIFURCATION) & (branches >= 3))[0]
    if forks.size:
        a = branch_angle[forks]
        pairs = ((0, 1), (1, 2), (0, 2))
        gaps = np.stack([_angle_difference(a[:, i], a[:, j]) for i, j in pairs], axis=1)
        best = np.argmin(gaps, axis=1)
        first = np.array([p[0] for p in pairs])[best]
        second = np.array([p[1] for p in pairs])[best]
        idx = np.arange(forks.size)
        coarse[forks] = np.arctan2(np.sin(a[idx, first]) + np.sin(a[idx, second]),
                                   np.cos(a[idx, first]) + np.cos(a[idx, second]))
    axis = orientation[rows, cols].astype(np.float64)
    flip = _angle_difference(axis, coarse) > np.pi / 2.0
    direction = np.mod(np.where(flip, axis + np.pi, axis), 2.0 * np.pi)
    return Candidates(rows.astype(np.int64), cols.astype(np.int64), kind, direction,
                      np.zeros(rows.shape[0]), trace)
