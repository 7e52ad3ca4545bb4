"""Slow, obviously correct numpy version of the matcher: the oracle of the native kernels.

It follows the paper's formulas one to one (Cappelli, Ferrara & Maltoni, "Minutia
Cylinder-Code", IEEE TPAMI 32(12), 2010; "MCC" below), with no search structures and no
shortcuts, so that every number the C++ code produces can be checked against it
(tests/matcher/matching/test_parity.py). Use :class:`matcher.matching.Matcher` for real work.

Geometry is computed in the "as viewed" frame of :mod:`matcher.template`: ``X = x`` and
``Y = -y``, so that minutia angles are ordinary counter-clockwise angles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import erf

from matcher.params import WORKING_DPI, MatchingParams
from matcher.template import Template

__all__ = ["Cylinders", "cylinders", "local_similarities", "consolidate", "score", "pair_count",
           "angle_diff", "hull", "inside_hull"]

WORD_BITS = 64
DEFAULT_PARAMS = MatchingParams()


def angle_diff(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """``d_phi(a, b)`` of MCC eq. 9: ``a - b`` wrapped into ``[-pi, pi)``."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return np.mod(d + math.pi, 2.0 * math.pi) - math.pi


def words_per_cylinder(params: MatchingParams) -> int:
    """64-bit words holding the stored cells of one cylinder: the ``N_D`` sections of the cells
    inside the base circle (cells outside it are never valid, MCC eq. 5)."""
    cells = int(np.count_nonzero(inside_circle(params))) * params.angular_cells
    return -(-cells // WORD_BITS)


def hull(points: np.ndarray) -> np.ndarray:
    """Convex hull vertices in counter-clockwise order (Andrew's monotone chain).

    Collinear points are dropped; one or two distinct points give a 1- or 2-vertex "hull".
    """
    pts = sorted(set(map(tuple, np.asarray(points, dtype=np.float64).tolist())))
    if len(pts) <= 2:
        return np.array(pts, dtype=np.float64).reshape(-1, 2)

    def cross(o: tuple, a: tuple, b: tuple) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def inside_hull(vertices: np.ndarray, points: np.ndarray, offset: float) -> np.ndarray:
    """Whether each point lies inside the hull or within ``offset`` of it (MCC §3, Omega)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(vertices)
    if n == 0:
        return np.zeros(len(points), dtype=bool)
    inside = np.ones(len(points), dtype=bool) if n >= 3 else np.zeros(len(points), dtype=bool)
    near = np.zeros(len(points), dtype=bool)
    for i in range(n):
        a = vertices[i]
        b = vertices[(i + 1) % n]
        edge = b - a
        rel = points - a
        if n >= 3:
            inside &= edge[0] * rel[:, 1] - edge[1] * rel[:, 0] >= 0
        length2 = float(edge @ edge)
        t = np.clip(rel @ edge / length2, 0.0, 1.0) if length2 > 0 else np.zeros(len(points))
        closest = a + t[:, None] * edge
        near |= np.sum((points - closest) ** 2, axis=1) <= offset * offset
    return inside | near


@dataclass(frozen=True)
class Cylinders:
    """The cylinders of one template (MCC §3), bit form, with the minutiae they belong to.

    ``values`` and ``valid`` are ``(n, words)`` uint64 bit vectors over the cells inside the
    base circle: cell ``c`` is bit ``c % 64`` of word ``c // 64``, with ``c = k * C + r`` for
    direction section ``k`` and the ``r``-th of the ``C`` in-circle cells in row-major order of
    ``(i, j)`` (row ``i`` along the minutia direction, column ``j`` across it). ``usable`` marks the valid
    cylinders (MCC §3: at least ``min_VC`` valid cells and ``min_M`` contributing minutiae).
    """

    X: np.ndarray          # float64 (n,), as-viewed frame
    Y: np.ndarray
    angle: np.ndarray      # float64 (n,)
    values: np.ndarray     # uint64 (n, words)
    valid: np.ndarray      # uint64 (n, words)
    usable: np.ndarray     # bool (n,)


def cell_offsets(params: MatchingParams) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates ``(u, v)`` relative to the minutia, in its own frame (MCC eq. 1)."""
    ns = params.spatial_cells
    step = 2.0 * params.radius_px / ns
    grid = (np.arange(ns) - (ns - 1) / 2.0) * step
    u, v = np.meshgrid(grid, grid, indexing="ij")      # u along the direction (row i), v across (col j)
    return u.ravel(), v.ravel()


def inside_circle(params: MatchingParams) -> np.ndarray:
    """Cells whose centre lies within the base radius (MCC eq. 5, ``d_S(m, p) <= R``)."""
    u, v = cell_offsets(params)
    return u * u + v * v <= params.radius_px * params.radius_px


def _pack(bits: np.ndarray, words: int) -> np.ndarray:
    """Pack ``(n, cells)`` booleans into ``(n, words)`` uint64, cell ``c`` -> bit ``c % 64`` of word ``c // 64``."""
    n, cells = bits.shape
    padded = np.zeros((n, words * WORD_BITS), dtype=bool)
    padded[:, :cells] = bits
    weights = np.uint64(1) << np.arange(WORD_BITS, dtype=np.uint64)
    return (padded.reshape(n, words, WORD_BITS).astype(np.uint64) * weights).sum(axis=2, dtype=np.uint64)


def cylinders(template: Template, params: MatchingParams = DEFAULT_PARAMS) -> Cylinders:
    """Build the bit cylinders of every minutia (MCC §3, eqs. 1-8 with Psi_Bit of §4)."""
    scale = WORKING_DPI / template.dpi                               # work at 500 dpi
    X = template.x.astype(np.float64) * scale
    Y = -(template.y.astype(np.float64) * scale)
    theta = template.angle.astype(np.float64)
    n = len(X)
    nd = params.angular_cells
    words = words_per_cylinder(params)
    u, v = cell_offsets(params)
    circle = inside_circle(params)
    vertices = hull(np.stack([X, Y], axis=1)) if n else np.zeros((0, 2))
    reach = 3.0 * params.sigma_spatial_px
    delta_d = 2.0 * math.pi / nd
    section = -math.pi + (np.arange(nd) + 0.5) * delta_d            # d_phi_k, MCC eq. 3
    norm_s = 1.0 / (params.sigma_spatial_px * math.sqrt(2.0 * math.pi))
    root2_sd = params.sigma_direction_rad * math.sqrt(2.0)
    values = np.zeros((n, words), dtype=np.uint64)
    valid = np.zeros((n, words), dtype=np.uint64)
    usable = np.zeros(n, dtype=bool)
    for m in range(n):
        c, s = math.cos(theta[m]), math.sin(theta[m])
        px = X[m] + u * c - v * s                                    # MCC eq. 2: cell centres
        py = Y[m] + u * s + v * c
        cell_ok = circle & inside_hull(vertices, np.stack([px, py], axis=1), params.hull_offset_px)
        others = np.arange(n) != m
        dx = px[:, None] - X[None, others]
        dy = py[:, None] - Y[None, others]
        dist = np.sqrt(dx * dx + dy * dy)                            # (cells2d, n-1)
        spatial = np.where(dist <= reach, norm_s * np.exp(-dist * dist / (2.0 * params.sigma_spatial_px ** 2)),
                           0.0)                                      # MCC eq. 6, neighbourhood of eq. 7
        d_theta = angle_diff(theta[m], theta[others])                # d_phi(theta_m, theta_t)
        alpha = angle_diff(section[:, None], d_theta[None, :])       # (nd, n-1)
        directional = 0.5 * (erf((alpha + delta_d / 2) / root2_sd) - erf((alpha - delta_d / 2) / root2_sd))
        contribution = spatial @ directional.T                       # (cells2d, nd): MCC eq. 4 sum
        stored = contribution.T[:, circle].ravel()                   # cell c = k * C + r
        ok = np.tile(cell_ok[circle], nd)
        bits = (stored >= params.bit_threshold) & ok                 # Psi_Bit
        if 0 < params.bit_top_cells < np.count_nonzero(bits):
            # fixed-weight variant: the bit_top_cells largest of those cells, ties by cell
            candidates = np.flatnonzero(bits)
            best = candidates[np.lexsort((candidates, -stored[candidates]))[:params.bit_top_cells]]
            bits = np.zeros_like(bits)
            bits[best] = True
        values[m] = _pack(bits[None, :], words)[0]
        valid[m] = _pack(ok[None, :], words)[0]
        contributors = np.sum((X[others] - X[m]) ** 2 + (Y[others] - Y[m]) ** 2
                              <= (params.radius_px + reach) ** 2)
        usable[m] = (np.count_nonzero(cell_ok) >= params.min_valid_cells * np.count_nonzero(circle)
                     and contributors >= params.min_contributors)
    return Cylinders(X=X, Y=Y, angle=theta, values=values, valid=valid, usable=usable)


def local_similarities(a: Cylinders, b: Cylinders, params: MatchingParams = DEFAULT_PARAMS) -> np.ndarray:
    """The local similarity matrix Gamma (MCC §4, eq. 17 with the bit norms of §4.1)."""
    circle_cells = np.count_nonzero(inside_circle(params)) * params.angular_cells
    common = a.valid[:, None, :] & b.valid[None, :, :]
    ca = a.values[:, None, :] & common
    cb = b.values[None, :, :] & common
    matchable = np.bitwise_count(common).sum(axis=2)
    norm_a = np.sqrt(np.bitwise_count(ca).sum(axis=2))
    norm_b = np.sqrt(np.bitwise_count(cb).sum(axis=2))
    norm_x = np.sqrt(np.bitwise_count(ca ^ cb).sum(axis=2))
    denom = norm_a + norm_b
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(denom > 0, 1.0 - norm_x / denom, 0.0)
    close = np.abs(angle_diff(a.angle[:, None], b.angle[None, :])) <= params.max_direction_diff_rad
    ok = (a.usable[:, None] & b.usable[None, :] & close
          & (matchable >= params.min_matchable_cells * circle_cells))
    return np.where(ok, sim, 0.0)


def _sigmoid(v: np.ndarray | float, mu: float, tau: float) -> np.ndarray:
    """``Z(v, mu, tau)`` of MCC eq. 18."""
    return 1.0 / (1.0 + np.exp(-tau * (np.asarray(v, dtype=np.float64) - mu)))


def pair_count(n_a: int, n_b: int, params: MatchingParams = DEFAULT_PARAMS) -> int:
    """``n_P``, the number of pairs averaged into the global score (MCC eq. 23)."""
    z = float(_sigmoid(min(n_a, n_b), params.pairs_mu, params.pairs_tau))
    return params.min_pairs + int(math.floor(z * (params.max_pairs - params.min_pairs) + 0.5))


def _greedy_pairs(gamma: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` one-to-one pairs taken greedily in decreasing local similarity, ties by
    row-major position (LGS, MCC §5.1); zero entries are never selected."""
    flat = gamma.ravel()
    rows: list[int] = []
    cols: list[int] = []
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    for index in np.lexsort((np.arange(flat.size), -flat)):
        if flat[index] <= 0 or len(rows) == count:
            break
        row, col = divmod(int(index), gamma.shape[1])
        if row not in used_rows and col not in used_cols:
            used_rows.add(row)
            used_cols.add(col)
            rows.append(row)
            cols.append(col)
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


def consolidate(gamma: np.ndarray, a: Cylinders, b: Cylinders, params: MatchingParams = DEFAULT_PARAMS) -> float:
    """Global score by relaxation (MCC §5.2, eqs. 19-22) on ``n_R = min(n_A, n_B)`` greedy
    one-to-one seed pairs, then the mean of the ``n_P`` most efficient pairs (eq. 23).

    The paper's recommended LSS-R seeds the relaxation with the top pairs of Gamma even when
    they share minutiae; one-to-one (LGS) seeds measured better on FVC2002 (docs/RESULTS.md).
    """
    n_a, n_b = int(np.count_nonzero(a.usable)), int(np.count_nonzero(b.usable))
    if n_a == 0 or n_b == 0:
        return 0.0
    n_r = min(n_a, n_b) if params.max_seeds <= 0 else min(n_a, n_b, params.max_seeds)
    rows, cols = _greedy_pairs(gamma, n_r)                          # n_R = min(n_A, n_B)
    n_r = len(rows)
    if n_r == 0:
        return 0.0
    lam0 = gamma[rows, cols]
    # Compatibility rho(t, k) of two pairs (eq. 21): distances, relative directions and
    # radial angles must agree in both templates.
    ax, ay, at = a.X[rows], a.Y[rows], a.angle[rows]
    bx, by, bt = b.X[cols], b.Y[cols], b.angle[cols]
    dist_a = np.hypot(ax[:, None] - ax[None, :], ay[:, None] - ay[None, :])
    dist_b = np.hypot(bx[:, None] - bx[None, :], by[:, None] - by[None, :])
    d1 = np.abs(dist_a - dist_b)
    d2 = np.abs(angle_diff(angle_diff(at[:, None], at[None, :]), angle_diff(bt[:, None], bt[None, :])))
    # d_R (eq. 20): direction of a minutia against the segment to the other one; the paper's
    # image-frame atan2(y1 - y2, x2 - x1) is atan2(Y2 - Y1, X2 - X1) in the as-viewed frame.
    radial_a = angle_diff(at[:, None], np.arctan2(ay[None, :] - ay[:, None], ax[None, :] - ax[:, None]))
    radial_b = angle_diff(bt[:, None], np.arctan2(by[None, :] - by[:, None], bx[None, :] - bx[:, None]))
    d3 = np.abs(angle_diff(radial_a, radial_b))
    rho = (_sigmoid(d1, params.distance_mu_px, params.distance_tau)
           * _sigmoid(d2, params.direction_mu_rad, params.direction_tau)
           * _sigmoid(d3, params.radial_mu_rad, params.radial_tau))
    np.fill_diagonal(rho, 0.0)
    lam = lam0.copy()
    w = params.relaxation_weight
    for _ in range(params.relaxation_iterations):                    # eq. 19
        lam = w * lam + (1.0 - w) * (rho @ lam) / max(n_r - 1, 1)
    efficiency = lam / lam0                                          # eq. 22
    n_p = pair_count(n_a, n_b, params)
    best = np.lexsort((np.arange(n_r), -efficiency))[:n_p]       # fewer than n_P pairs count as zeros
    return float(np.sum(lam[best]) / n_p)


def score(a: Template, b: Template, params: MatchingParams = DEFAULT_PARAMS) -> float:
    """Similarity of two templates in [0, 1] (MCC with LSS-R)."""
    ca, cb = cylinders(a, params), cylinders(b, params)
    return consolidate(local_similarities(ca, cb, params), ca, cb, params)
