"""Numba kernels of the synthetic fingerprint generator (hot loops only).

Every kernel is ``@njit(cache=True, nogil=True)`` so worker processes load it from the on-disk
cache and threads can run it side by side. Each has a numpy/scipy reference and a parity test
in ``tests/datasets/test_synthetic_images.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath=True)
def gabor_step(pattern, active, angle_index, frequency_index, bank, gain, tolerance):
    """One iteration of contextual Gabor growth (Cappelli, Maio & Maltoni, ICPR 2000, §3).

    Each active pixel is replaced by ``clip(gain * (g * pattern)(r, c), -1, 1)``, with ``g``
    the kernel ``bank[angle_index[r, c], frequency_index[r, c]]`` (a Gabor filter tuned to
    the local ridge orientation and frequency) and zero outside the image; inactive pixels
    keep their value. Returns the new float32 pattern and a boolean map of the pixels whose
    value moved by more than ``tolerance``.
    """
    h, w = pattern.shape
    size = bank.shape[2]
    half = (size - 1) // 2
    out = pattern.copy()
    changed = np.zeros((h, w), dtype=np.bool_)
    for r in range(h):
        i0 = max(r - half, 0)
        i1 = min(r + half + 1, h)
        for c in range(w):
            if not active[r, c]:
                continue
            j0 = max(c - half, 0)
            j1 = min(c + half + 1, w)
            kernel = bank[angle_index[r, c], frequency_index[r, c]]
            acc = np.float32(0.0)
            for i in range(i0, i1):
                ki = i - r + half
                for j in range(j0, j1):
                    acc += kernel[ki, j - c + half] * pattern[i, j]
            value = gain * acc
            if value > 1.0:
                value = 1.0
            elif value < -1.0:
                value = -1.0
            out[r, c] = value
            if abs(value - pattern[r, c]) > tolerance:
                changed[r, c] = True
    return out, changed


@njit(cache=True, nogil=True)
def dilate_box(mask, half):
    """Binary dilation by a ``(2 half + 1)`` square (two separable running ORs)."""
    h, w = mask.shape
    rows = np.zeros((h, w), dtype=np.bool_)
    for r in range(h):
        last = -(half + 1)              # column of the last set pixel seen, going right
        for c in range(w + half):
            if c < w and mask[r, c]:
                last = c
            target = c - half
            if target >= 0 and c - last <= 2 * half:
                rows[r, target] = True
    out = np.zeros((h, w), dtype=np.bool_)
    for c in range(w):
        last = -(half + 1)
        for r in range(h + half):
            if r < h and rows[r, c]:
                last = r
            target = r - half
            if target >= 0 and r - last <= 2 * half:
                out[target, c] = True
    return out


@njit(cache=True, nogil=True)
def remap(image, rows, cols, fill):
    """Bilinear samples ``image[rows, cols]`` (float32), ``fill`` outside ``[0, h-1] x [0, w-1]``."""
    h, w = image.shape
    out = np.empty(rows.shape, dtype=np.float32)
    for r in range(rows.shape[0]):
        for c in range(rows.shape[1]):
            y = rows[r, c]
            x = cols[r, c]
            if not (y >= 0.0 and x >= 0.0 and y <= h - 1.0 and x <= w - 1.0):
                out[r, c] = fill
                continue
            y0 = min(int(y), h - 2) if h > 1 else 0
            x0 = min(int(x), w - 2) if w > 1 else 0
            fy = y - y0
            fx = x - x0
            y1 = min(y0 + 1, h - 1)
            x1 = min(x0 + 1, w - 1)
            top = image[y0, x0] * (1.0 - fx) + image[y0, x1] * fx
            bottom = image[y1, x0] * (1.0 - fx) + image[y1, x1] * fx
            out[r, c] = top * (1.0 - fy) + bottom * fy
    return out
