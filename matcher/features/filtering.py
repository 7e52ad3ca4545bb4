"""Removal of false minutiae (Handbook §3.8; Xiao & Raafat 1991; Tico & Kuosmanen 2000;
the NBIS mindtct removal steps: islands, lakes, hooks, overlaps, border).

Structural rules on the traced skeleton, each removing every minutia it involves:

* border:  closer than ``border_distance_px`` to the foreground border (the ridge just
  leaves the print there);
* spur:    an ending whose ridge reaches a bifurcation within ``spur_length_px``;
* island:  an ending whose ridge reaches another ending within ``island_length_px``;
* bridge / lake: a bifurcation with a branch reaching another bifurcation within
  ``bridge_length_px``;
* broken ridge: two endings closer than ``break_distance_px`` that face each other
  (opposite directions, each pointing across the gap) — one ridge interrupted by a scar;
* cluster: a minutia with ``cluster_count`` or more others within ``cluster_radius_px``
  (noise produces tight groups; real minutiae are a ridge period or more apart).

The ridge-length thresholds are a few pixels: they catch the hairs and junction loops that
thinning leaves, not real short ridges. Longer thresholds (a ridge period) also delete true
ending/bifurcation pairs, and the MCC matcher loses more from a missing minutia than from a
spurious one (measured on FVC2002, see ``MinutiaeParams``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from matcher.features.minutiae import Candidates, _angle_difference
from matcher.params import MinutiaeParams
from matcher.template import MinutiaKind


def _nearest(tree: cKDTree, rows: np.ndarray, cols: np.ndarray, radius: float) -> np.ndarray:
    """Index of the candidate at each (row, col) within ``radius``, -1 where none."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    dist, idx = tree.query(np.column_stack([rows, cols]), k=1, distance_upper_bound=radius)
    return np.where(np.isfinite(dist), idx, -1)


def remove_false(cand: Candidates, mask: np.ndarray, params: MinutiaeParams) -> tuple[Candidates, np.ndarray]:
    """Filtered candidates and the distance (px) of each survivor to the mask border."""
    n = len(cand)
    if n == 0:
        return cand, np.zeros(0)
    # distance to the border on a 2x coarser grid (ample precision for a 14 px rule)
    half = np.pad(mask[::2, ::2], 1)
    border_distance = 2.0 * ndi.distance_transform_edt(half)[1:-1, 1:-1]
    remove = np.zeros(n, dtype=bool)
    distance = border_distance[cand.row // 2, cand.col // 2]
    remove |= distance < params.border_distance_px

    branches, length, end_cn, end_r, end_c, _, _ = cand.trace
    tree = cKDTree(np.column_stack([cand.row, cand.col]))
    ending = cand.kind == MinutiaKind.ENDING
    fork = cand.kind == MinutiaKind.BIFURCATION

    # spurs and islands: follow each ending's single branch
    idx = np.nonzero(ending & (branches >= 1))[0]
    spur = idx[(end_cn[idx, 0] >= 3) & (length[idx, 0] <= params.spur_length_px)]
    island = idx[(end_cn[idx, 0] == 1) & (length[idx, 0] <= params.island_length_px)]
    for group in (spur, island):
        remove[group] = True
        partner = _nearest(tree, end_r[group, 0], end_c[group, 0], 2.5)
        remove[partner[partner >= 0]] = True

    # bridges, lakes, ladders: bifurcation branches meeting another bifurcation quickly
    idx = np.nonzero(fork)[0]
    for b in range(3):
        hit = idx[(branches[idx] > b) & (end_cn[idx, b] >= 3) & (length[idx, b] <= params.bridge_length_px)]
        remove[hit] = True
        partner = _nearest(tree, end_r[hit, b], end_c[hit, b], 2.5)
        remove[partner[partner >= 0]] = True

    # broken ridges: facing pairs of endings
    ends = np.nonzero(ending)[0]
    if ends.size >= 2:
        sub = cKDTree(np.column_stack([cand.row[ends], cand.col[ends]]))
        for i, j in sub.query_pairs(params.break_distance_px, output_type="ndarray"):
            a, b = ends[i], ends[j]
            facing = _angle_difference(cand.direction[a], cand.direction[b] + np.pi)
            gap = np.arctan2(cand.row[b] - cand.row[a], cand.col[b] - cand.col[a])
            across = _angle_difference(gap, cand.direction[a] + np.pi)
            if facing < params.break_angle_rad and across < params.break_angle_rad:
                remove[a] = remove[b] = True

    # clusters
    counts = np.array([len(v) - 1 for v in tree.query_ball_point(
        np.column_stack([cand.row, cand.col]), params.cluster_radius_px)])
    remove |= counts >= params.cluster_count

    keep = ~remove
    return cand.select(keep), distance[keep]
