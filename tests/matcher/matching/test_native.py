"""The native extension builds, imports and agrees with numpy."""

import numpy as np
import pytest

from matcher.matching import _native, build_info


def test_extension_reports_its_build():
    info = build_info()
    assert info["abi_version"] == _native.ABI_VERSION
    assert info["target"] in ("native", "portable")


@pytest.mark.parametrize("n", [0, 1, 7, 255])
def test_bounding_box_matches_numpy(n):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 500, n).astype(np.int16)
    y = rng.integers(0, 500, n).astype(np.int16)
    expected = (-1, -1, -1, -1) if n == 0 else (x.min(), y.min(), x.max(), y.max())
    assert _native.bounding_box(x, y) == tuple(int(v) for v in expected)


def test_bounding_box_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        _native.bounding_box(np.zeros(3, np.int16), np.zeros(2, np.int16))
