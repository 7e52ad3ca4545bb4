"""Numba kernels of the extraction pipeline (hot loops only; the stages call these).

All kernels are ``@njit(cache=True, nogil=True)`` so a second process loads them from the
on-disk cache and several threads can extract at once. Each has a numpy reference in
``tests/matcher/features/`` and a parity test.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# 8-neighbourhood in circular order starting east, as (d_row, d_col):
# E, SE, S, SW, W, NW, N, NE (clockwise on screen).
NEIGHBOUR_DR = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
NEIGHBOUR_DC = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)


@njit(cache=True, nogil=True)
def _bilinear(image, r, c):
    h, w = image.shape
    if r < 0.0 or c < 0.0 or r > h - 1.0 or c > w - 1.0:
        return 0.0
    r0 = int(r)
    c0 = int(c)
    r1 = min(r0 + 1, h - 1)
    c1 = min(c0 + 1, w - 1)
    fr = r - r0
    fc = c - c0
    top = image[r0, c0] * (1.0 - fc) + image[r0, c1] * fc
    bottom = image[r1, c0] * (1.0 - fc) + image[r1, c1] * fc
    return top * (1.0 - fr) + bottom * fr


@njit(cache=True, nogil=True)
def ridge_periods(normalized, mask, orientation, block, length, width, min_period, max_period):
    """Ridge period per block (Hong et al. 1998, §2.4: the oriented window's x-signature).

    For a block centred at (r, c) the signature samples ``length`` points across the
    ridges, each the mean of ``width`` points along the ridge; the period is the mean
    distance between consecutive signature peaks. Returns (rows, cols) float32 periods,
    0 where the block is background or the estimate is outside [min_period, max_period].
    """
    h, w = normalized.shape
    rows = (h + block - 1) // block
    cols = (w + block - 1) // block
    periods = np.zeros((rows, cols), dtype=np.float32)
    signature = np.zeros(length, dtype=np.float64)
    for br in range(rows):
        for bc in range(cols):
            r = min(br * block + block // 2, h - 1)
            c = min(bc * block + block // 2, w - 1)
            if not mask[r, c]:
                continue
            phi = orientation[r, c]
            # along-ridge unit vector (d_col, d_row) = (cos, sin); across = (-sin, cos)
            ac = math.cos(phi)
            ar = math.sin(phi)
            for k in range(length):
                t = k - (length - 1) / 2.0
                total = 0.0
                for d in range(width):
                    u = d - (width - 1) / 2.0
                    total += _bilinear(normalized, r + t * ac + u * ar, c - t * ar + u * ac)
                signature[k] = total / width
            # peaks of the lightly smoothed signature
            first = -1.0
            last = -1.0
            peaks = 0
            for k in range(2, length - 2):
                s0 = signature[k - 1] + signature[k] + signature[k + 1]
                sl = signature[k - 2] + signature[k - 1] + signature[k]
                sr = signature[k] + signature[k + 1] + signature[k + 2]
                if s0 > sl and s0 >= sr and signature[k] > 0.0:
                    if peaks == 0:
                        first = k
                    last = k
                    peaks += 1
            if peaks >= 2:
                period = (last - first) / (peaks - 1)
                if min_period <= period <= max_period:
                    periods[br, bc] = period
    return periods


@njit(cache=True, nogil=True)
def _bilinear_taps(angle_bins, half, row_stride, across):
    """Flat offsets (of the top-left neighbour) and bilinear weights of the taps
    ``k = -half..half`` along (``across=0``: (d_row, d_col) = k (sin, cos)) or across
    (``across=1``: k (cos, -sin)) each direction ``pi * a / angle_bins``."""
    offsets = np.empty((angle_bins, 2 * half + 1), dtype=np.int64)
    weights = np.empty((angle_bins, 2 * half + 1, 4), dtype=np.float32)
    for a in range(angle_bins):
        phi = math.pi * a / angle_bins
        for k in range(-half, half + 1):
            if across:
                dr = k * math.cos(phi)
                dc = -k * math.sin(phi)
            else:
                dr = k * math.sin(phi)
                dc = k * math.cos(phi)
            r0 = math.floor(dr)
            c0 = math.floor(dc)
            fr = dr - r0
            fc = dc - c0
            offsets[a, k + half] = int(r0) * row_stride + int(c0)
            weights[a, k + half, 0] = (1.0 - fr) * (1.0 - fc)
            weights[a, k + half, 1] = (1.0 - fr) * fc
            weights[a, k + half, 2] = fr * (1.0 - fc)
            weights[a, k + half, 3] = fr * fc
    return offsets, weights


@njit(cache=True, nogil=True, fastmath=True)
def oriented_filter(normalized, mask, orientation, frequency, along_kernel, across_table,
                    frequency_min, frequency_step, angle_bins):
    """Contextual Gabor filtering as two oriented 1-D passes (Hong et al. 1998, eq. 13).

    The even-symmetric Gabor kernel ``exp(-x^2/2sx^2 - y^2/2sy^2) cos(2 pi f x)`` in the
    frame of the local ridge is separable in that frame: a Gaussian along the ridge (pass 1)
    and a cosine-modulated Gaussian across it (pass 2). As in a filter bank (Hong et al.
    use 16 orientations), the orientation is quantised to ``angle_bins`` directions; each
    tap is a bilinear sample of its rotated position (zero outside the image).
    ``across_table[i]`` is the zero-mean across-ridge kernel for frequency
    ``frequency_min + i * frequency_step``.
    """
    h, w = normalized.shape
    half_a = (along_kernel.shape[0] - 1) // 2
    half_b = (across_table.shape[1] - 1) // 2
    pad = max(half_a, half_b) + 2
    pw = w + 2 * pad
    source = np.zeros((h + 2 * pad) * pw, dtype=np.float32)
    for r in range(h):
        for c in range(w):
            source[(r + pad) * pw + c + pad] = normalized[r, c]
    # bilinear taps of every quantised direction: the centre is a whole pixel, so the
    # fractional part of each tap position, and its four weights, depend only on the tap
    along_off, along_wt = _bilinear_taps(angle_bins, half_a, pw, 0)
    across_off, across_wt = _bilinear_taps(angle_bins, half_b, pw, 1)
    smoothed = np.zeros((h + 2 * pad) * pw, dtype=np.float32)
    enhanced = np.zeros((h, w), dtype=np.float32)
    bins = across_table.shape[0]
    direction = np.empty((h, w), dtype=np.int64)
    for r in range(h):
        for c in range(w):
            if not mask[r, c]:
                continue
            a = int(orientation[r, c] * angle_bins / math.pi + 0.5) % angle_bins
            direction[r, c] = a
            centre = (r + pad) * pw + c + pad
            total = np.float32(0.0)
            for k in range(2 * half_a + 1):
                p = centre + along_off[a, k]
                total += along_kernel[k] * (
                    along_wt[a, k, 0] * source[p] + along_wt[a, k, 1] * source[p + 1]
                    + along_wt[a, k, 2] * source[p + pw] + along_wt[a, k, 3] * source[p + pw + 1])
            smoothed[centre] = total
    for r in range(h):
        for c in range(w):
            if not mask[r, c]:
                continue
            a = direction[r, c]
            index = int((frequency[r, c] - frequency_min) / frequency_step + 0.5)
            index = min(max(index, 0), bins - 1)
            centre = (r + pad) * pw + c + pad
            total = np.float32(0.0)
            for k in range(2 * half_b + 1):
                p = centre + across_off[a, k]
                total += across_table[index, k] * (
                    across_wt[a, k, 0] * smoothed[p] + across_wt[a, k, 1] * smoothed[p + 1]
                    + across_wt[a, k, 2] * smoothed[p + pw] + across_wt[a, k, 3] * smoothed[p + pw + 1])
            enhanced[r, c] = total
    return enhanced


@njit(cache=True, nogil=True)
def crossing_numbers(skeleton):
    """Crossing number of every skeleton pixel (Handbook §3.7.1, eq. 3.9; Arcelli & Baja 1984).

    ``cn = 0.5 * sum_i |P(i) - P(i+1)|`` over the 8 neighbours in circular order: 1 at a
    ridge ending, 2 inside a ridge, 3 at a bifurcation. Image border pixels get 0.
    """
    h, w = skeleton.shape
    cn = np.zeros((h, w), dtype=np.uint8)
    for r in range(1, h - 1):
        for c in range(1, w - 1):
            if not skeleton[r, c]:
                continue
            transitions = 0
            for i in range(8):
                a = skeleton[r + NEIGHBOUR_DR[i], c + NEIGHBOUR_DC[i]]
                b = skeleton[r + NEIGHBOUR_DR[(i + 1) % 8], c + NEIGHBOUR_DC[(i + 1) % 8]]
                if a != b:
                    transitions += 1
            cn[r, c] = transitions // 2
    return cn


@njit(cache=True, nogil=True)
def trace_ridge(skeleton, cn, start_r, start_c, first_r, first_c, max_steps, path_r, path_c):
    """Follow a skeleton ridge from (start) through its neighbour (first).

    Walks pixel to pixel while the crossing number is 2, preferring 4-neighbours, never
    stepping back. Fills ``path_r/path_c`` and returns (steps, end_cn): the number of
    pixels written and the crossing number where the walk stopped (1 ending, 3+
    bifurcation, 2 when ``max_steps`` was reached, 0 at the image border).
    """
    h, w = skeleton.shape
    prev_r = start_r
    prev_c = start_c
    r = first_r
    c = first_c
    steps = 0
    while steps < max_steps:
        path_r[steps] = r
        path_c[steps] = c
        steps += 1
        if r <= 0 or c <= 0 or r >= h - 1 or c >= w - 1:
            return steps, 0
        if cn[r, c] != 2:
            return steps, cn[r, c]
        best_r = -1
        best_c = -1
        best_cost = 100
        for i in range(8):
            nr = r + NEIGHBOUR_DR[i]
            nc = c + NEIGHBOUR_DC[i]
            if not skeleton[nr, nc] or (nr == prev_r and nc == prev_c):
                continue
            cost = 1 if (i % 2 == 0) else 2
            # pixels adjacent to where we came from are corner pixels of the same branch:
            # taken only when nothing else continues the ridge
            if abs(nr - prev_r) <= 1 and abs(nc - prev_c) <= 1:
                cost += 4
            if cost < best_cost:
                best_cost = cost
                best_r = nr
                best_c = nc
        if best_r < 0:
            return steps, 1
        prev_r = r
        prev_c = c
        r = best_r
        c = best_c
    return steps, 2


@njit(cache=True, nogil=True)
def branch_starts(skeleton, r, c, out_r, out_c):
    """The first pixel of each branch leaving (r, c): one per run of ridge neighbours in the
    circular 8-neighbourhood, preferring the 4-neighbour of the run. Returns the count."""
    count = 0
    for i in range(8):
        cur = skeleton[r + NEIGHBOUR_DR[i], c + NEIGHBOUR_DC[i]]
        prv = skeleton[r + NEIGHBOUR_DR[(i + 7) % 8], c + NEIGHBOUR_DC[(i + 7) % 8]]
        if cur and not prv:
            # a run starts at i; walk it and pick its 4-neighbour if any
            j = i
            pick = i
            while skeleton[r + NEIGHBOUR_DR[j % 8], c + NEIGHBOUR_DC[j % 8]] and j < i + 8:
                if j % 2 == 0:
                    pick = j % 8
                    break
                j += 1
            if count < out_r.shape[0]:
                out_r[count] = r + NEIGHBOUR_DR[pick]
                out_c[count] = c + NEIGHBOUR_DC[pick]
            count += 1
    return count


@njit(cache=True, nogil=True)
def trace_minutiae(skeleton, cn, rows, cols, max_steps, dir_min, dir_max):
    """Trace every branch of every candidate minutia along the skeleton.

    Returns per minutia ``i`` and branch ``b`` (at most 3): ``branches[i]`` the branch
    count, ``length[i, b]`` the ridge length walked, ``end_cn[i, b]`` the crossing number
    where the walk stopped, ``end_r/end_c[i, b]`` that pixel, and ``dir_r/dir_c[i, b]`` the
    mean offset of the path pixels ``dir_min..dir_max`` from the minutia (its direction).
    """
    n = rows.shape[0]
    branches = np.zeros(n, dtype=np.int64)
    length = np.zeros((n, 3), dtype=np.int64)
    end_cn = np.zeros((n, 3), dtype=np.int64)
    end_r = np.zeros((n, 3), dtype=np.int64)
    end_c = np.zeros((n, 3), dtype=np.int64)
    dir_r = np.zeros((n, 3), dtype=np.float64)
    dir_c = np.zeros((n, 3), dtype=np.float64)
    path_r = np.zeros(max_steps, dtype=np.int64)
    path_c = np.zeros(max_steps, dtype=np.int64)
    start_r = np.zeros(8, dtype=np.int64)
    start_c = np.zeros(8, dtype=np.int64)
    h, w = skeleton.shape
    for i in range(n):
        r = rows[i]
        c = cols[i]
        if r <= 0 or c <= 0 or r >= h - 1 or c >= w - 1:
            continue
        count = branch_starts(skeleton, r, c, start_r, start_c)
        branches[i] = count
        for b in range(min(count, 3)):
            steps, stop = trace_ridge(skeleton, cn, r, c, start_r[b], start_c[b], max_steps,
                                      path_r, path_c)
            length[i, b] = steps
            end_cn[i, b] = stop
            end_r[i, b] = path_r[steps - 1]
            end_c[i, b] = path_c[steps - 1]
            sr = 0.0
            sc = 0.0
            k = 0
            for s in range(dir_min - 1, min(steps, dir_max)):
                sr += path_r[s] - r
                sc += path_c[s] - c
                k += 1
            if k == 0:
                sr = path_r[steps - 1] - r
                sc = path_c[steps - 1] - c
                k = 1
            dir_r[i, b] = sr / k
            dir_c[i, b] = sc / k
    return branches, length, end_cn, end_r, end_c, dir_r, dir_c


@njit(cache=True, nogil=True)
def block_mean(image, factor):
    """Mean over non-overlapping ``factor`` x ``factor`` blocks (partial edge blocks averaged
    over their pixels); shape ``ceil(H/f) x ceil(W/f)``, float32."""
    h, w = image.shape
    rows = (h + factor - 1) // factor
    cols = (w + factor - 1) // factor
    total = np.zeros((rows, cols), dtype=np.float64)
    count = np.zeros((rows, cols), dtype=np.float64)
    for r in range(h):
        for c in range(w):
            total[r // factor, c // factor] += image[r, c]
            count[r // factor, c // factor] += 1.0
    return (total / count).astype(np.float32)


@njit(cache=True, nogil=True)
def upsample_bilinear(grid, factor, h, w):
    """Inverse of :func:`block_mean`: bilinear interpolation from block centres to every
    pixel of an (h, w) image, float32."""
    gh, gw = grid.shape
    out = np.empty((h, w), dtype=np.float32)
    offset = (factor - 1) / 2.0
    col0 = np.empty(w, dtype=np.int64)
    col1 = np.empty(w, dtype=np.int64)
    colf = np.empty(w, dtype=np.float32)
    for c in range(w):
        gc = min(max((c - offset) / factor, 0.0), gw - 1.0)
        col0[c] = int(gc)
        col1[c] = min(col0[c] + 1, gw - 1)
        colf[c] = gc - col0[c]
    for r in range(h):
        gr = min(max((r - offset) / factor, 0.0), gh - 1.0)
        r0 = int(gr)
        r1 = min(r0 + 1, gh - 1)
        fr = np.float32(gr - r0)
        for c in range(w):
            fc = colf[c]
            top = grid[r0, col0[c]] + (grid[r0, col1[c]] - grid[r0, col0[c]]) * fc
            bottom = grid[r1, col0[c]] + (grid[r1, col1[c]] - grid[r1, col0[c]]) * fc
            out[r, c] = top + (bottom - top) * fr
    return out


@njit(cache=True, nogil=True, fastmath=True)
def gradient_moments(image, factor):
    """Sobel gradients (gx along columns, gy along rows) reduced to block means of
    ``gx^2``, ``gy^2`` and ``gx*gy`` over ``factor`` x ``factor`` blocks, in one pass and
    without full-resolution temporaries. Border pixels use replicated neighbours."""
    h, w = image.shape
    rows = (h + factor - 1) // factor
    cols = (w + factor - 1) // factor
    gxx = np.zeros((rows, cols), dtype=np.float32)
    gyy = np.zeros((rows, cols), dtype=np.float32)
    gxy = np.zeros((rows, cols), dtype=np.float32)
    count = np.zeros((rows, cols), dtype=np.float32)
    for r in range(h):
        ru = max(r - 1, 0)
        rd = min(r + 1, h - 1)
        for c in range(w):
            cl = max(c - 1, 0)
            cr = min(c + 1, w - 1)
            gx = (image[ru, cr] + 2.0 * image[r, cr] + image[rd, cr]
                  - image[ru, cl] - 2.0 * image[r, cl] - image[rd, cl])
            gy = (image[rd, cl] + 2.0 * image[rd, c] + image[rd, cr]
                  - image[ru, cl] - 2.0 * image[ru, c] - image[ru, cr])
            br = r // factor
            bc = c // factor
            gxx[br, bc] += gx * gx
            gyy[br, bc] += gy * gy
            gxy[br, bc] += gx * gy
            count[br, bc] += 1.0
    return gxx / count, gyy / count, gxy / count
