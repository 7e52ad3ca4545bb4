"""Parity of every numba kernel with a slow, obviously correct numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from matcher.features import _kernels
from matcher.features.enhancement import _kernels_for
from matcher.params import EnhancementParams, FrequencyParams


def _stripes(shape=(48, 56), period=9.0, angle=0.4, seed=0):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    rng = np.random.default_rng(seed)
    wave = np.cos(2 * np.pi * (cols * math.cos(angle) + rows * math.sin(angle)) / period)
    return (wave + 0.2 * rng.standard_normal(shape)).astype(np.float32)


def _sample(image, r, c):
    """Bilinear sample, zero outside (the kernels' convention)."""
    return ndi.map_coordinates(image.astype(np.float64), [[r], [c]], order=1, mode="grid-constant", cval=0.0)[0]


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_block_mean_matches_reference(factor):
    image = np.random.default_rng(1).random((37, 22)).astype(np.float32)
    expected = np.zeros(((37 + factor - 1) // factor, (22 + factor - 1) // factor))
    for i in range(expected.shape[0]):
        for j in range(expected.shape[1]):
            expected[i, j] = image[i * factor : (i + 1) * factor, j * factor : (j + 1) * factor].mean()
    np.testing.assert_allclose(_kernels.block_mean(image, factor), expected, rtol=1e-5)


@pytest.mark.parametrize("factor", [2, 4, 16])
def test_upsample_bilinear_matches_map_coordinates(factor):
    grid = np.random.default_rng(2).random((6, 5)).astype(np.float32)
    h, w = 6 * factor - 1, 5 * factor + 1
    offset = (factor - 1) / 2.0
    rr = np.clip((np.arange(h) - offset) / factor, 0, grid.shape[0] - 1)
    cc = np.clip((np.arange(w) - offset) / factor, 0, grid.shape[1] - 1)
    gr, gc = np.meshgrid(rr, cc, indexing="ij")
    expected = ndi.map_coordinates(grid.astype(np.float64), [gr, gc], order=1)
    np.testing.assert_allclose(_kernels.upsample_bilinear(grid, factor, h, w), expected, atol=1e-5)


def test_crossing_numbers_match_reference():
    skeleton = np.random.default_rng(3).random((30, 30)) > 0.6
    padded = skeleton.astype(int)
    expected = np.zeros_like(padded)
    ring = list(zip(_kernels.NEIGHBOUR_DR, _kernels.NEIGHBOUR_DC, strict=True))
    for r in range(1, 29):
        for c in range(1, 29):
            if padded[r, c]:
                values = [padded[r + dr, c + dc] for dr, dc in ring]
                expected[r, c] = sum(abs(values[i] - values[(i + 1) % 8]) for i in range(8)) // 2
    np.testing.assert_array_equal(_kernels.crossing_numbers(skeleton), expected)


def test_crossing_number_of_ending_and_bifurcation():
    skeleton = np.zeros((20, 20), dtype=bool)
    skeleton[10, 3:17] = True            # horizontal ridge: endings at both ends
    skeleton[3:10, 10] = True            # a branch joining from above: bifurcation at (10, 10)
    cn = _kernels.crossing_numbers(skeleton)
    assert cn[10, 3] == 1 and cn[10, 16] == 1 and cn[3, 10] == 1
    assert cn[10, 10] == 3
    assert cn[10, 6] == 2


def test_oriented_filter_matches_reference():
    image = _stripes()
    h, w = image.shape
    mask = np.zeros((h, w), dtype=bool)
    mask[5:-5, 4:-4] = True
    rng = np.random.default_rng(4)
    orientation = rng.uniform(0, np.pi, (h, w)).astype(np.float32)
    frequency = rng.uniform(1 / 14, 1 / 5, (h, w)).astype(np.float32)
    along, table, f_min, step = _kernels_for(EnhancementParams(), FrequencyParams())
    bins = 64
    got = _kernels.oriented_filter(image, mask, orientation, frequency, along, table,
                                   np.float32(f_min), np.float32(step), bins)
    # the kernel quantises the orientation to the filter bank's directions
    quantised = np.pi * (np.floor(orientation * bins / np.pi + 0.5) % bins) / bins
    half_a = (along.size - 1) // 2
    half_b = (table.shape[1] - 1) // 2
    smoothed = np.zeros((h, w))
    for r, c in zip(*np.nonzero(mask), strict=True):
        ac, ar = math.cos(quantised[r, c]), math.sin(quantised[r, c])
        smoothed[r, c] = sum(along[k + half_a] * _sample(image, r + k * ar, c + k * ac)
                             for k in range(-half_a, half_a + 1))
    expected = np.zeros((h, w))
    for r, c in zip(*np.nonzero(mask), strict=True):
        ac, ar = math.cos(quantised[r, c]), math.sin(quantised[r, c])
        index = min(max(int((frequency[r, c] - f_min) / step + 0.5), 0), table.shape[0] - 1)
        expected[r, c] = sum(table[index, k + half_b] * _sample(smoothed, r + k * ac, c - k * ar)
                             for k in range(-half_b, half_b + 1))
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_ridge_periods_measure_the_true_period():
    period = 9.0
    angle = 0.3                                 # wave vector angle; ridges run at angle + pi/2
    image = _stripes((96, 96), period=period, angle=angle)
    mask = np.ones(image.shape, dtype=bool)
    orientation = np.full(image.shape, angle + np.pi / 2, dtype=np.float32)
    periods = _kernels.ridge_periods(image, mask, orientation, 16, 32, 16, 4.0, 16.0)
    inner = periods[1:-1, 1:-1]
    assert (inner > 0).all()
    np.testing.assert_allclose(inner, period, atol=0.6)


def test_ridge_periods_reference_signature():
    """The signature of one block equals a direct numpy evaluation of Hong's eq. (7)."""
    image = _stripes((64, 64), period=8.0, angle=1.0, seed=5)
    mask = np.ones(image.shape, dtype=bool)
    orientation = np.full(image.shape, 1.0 + np.pi / 2, dtype=np.float32)
    periods = _kernels.ridge_periods(image, mask, orientation, 16, 32, 16, 4.0, 16.0)
    r = c = 16 + 8
    phi = orientation[r, c]
    ac, ar = math.cos(phi), math.sin(phi)
    signature = []
    for k in range(32):
        t = k - 15.5
        signature.append(np.mean([_sample(image, r + t * ac + (d - 7.5) * ar, c - t * ar + (d - 7.5) * ac)
                                  for d in range(16)]))
    s = np.convolve(signature, np.ones(3), mode="same")
    peaks = [k for k in range(2, 30) if s[k] > s[k - 1] and s[k] >= s[k + 1] and signature[k] > 0]
    expected = (peaks[-1] - peaks[0]) / (len(peaks) - 1)
    assert periods[1, 1] == pytest.approx(expected, abs=1e-4)


def test_trace_minutiae_on_a_fork():
    skeleton = np.zeros((40, 40), dtype=bool)
    skeleton[20, 5:21] = True                                # stem from the west
    for k in range(1, 15):
        skeleton[20 - k, 20 + k] = True                      # north-east branch
        skeleton[20 + k, 20 + k] = True                      # south-east branch
    cn = _kernels.crossing_numbers(skeleton)
    assert cn[20, 20] == 3
    rows = np.array([20, 20], dtype=np.int64)
    cols = np.array([5, 20], dtype=np.int64)
    branches, length, end_cn, end_r, end_c, dir_r, dir_c = _kernels.trace_minutiae(
        skeleton, cn, rows, cols, 30, 5, 14)
    assert branches[0] == 1 and branches[1] == 3
    # the ending's ridge leads east into the fork after 15 pixels
    assert end_cn[0, 0] == 3 and (end_r[0, 0], end_c[0, 0]) == (20, 20) and length[0, 0] == 15
    assert dir_c[0, 0] > 0 and abs(dir_r[0, 0]) < 1e-9
    # the fork's three branches end at endings
    assert sorted(end_cn[1, :3]) == [1, 1, 1]
    angles = sorted(np.degrees(np.arctan2(dir_r[1, :3], dir_c[1, :3])).round())
    assert angles == [-45.0, 45.0, 180.0]
