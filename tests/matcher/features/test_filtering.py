"""False-minutiae removal on a drawn skeleton: thinning hairs go, real short branches stay."""

from __future__ import annotations

import dataclasses

import numpy as np

from matcher.features import _kernels
from matcher.features.filtering import remove_false
from matcher.features.minutiae import detect
from matcher.params import MinutiaeParams


def _ridge_with_hair_and_branch() -> np.ndarray:
    """A horizontal ridge (row 60) with a 3 px hair up at column 40 and a 12 px branch up at
    column 80."""
    skeleton = np.zeros((120, 120), dtype=bool)
    skeleton[60, 10:111] = True
    skeleton[57:60, 40] = True
    skeleton[48:60, 80] = True
    return skeleton


def _kept(params: MinutiaeParams) -> set[tuple[int, int]]:
    skeleton = _ridge_with_hair_and_branch()
    mask = np.ones(skeleton.shape, dtype=bool)
    orientation = np.zeros(skeleton.shape, dtype=np.float32)
    found = detect(skeleton, _kernels.crossing_numbers(skeleton), mask, orientation, params)
    kept, _ = remove_false(found, mask, params)
    return set(zip(kept.row.tolist(), kept.col.tolist(), strict=True))


def test_a_thinning_hair_and_its_junction_are_removed():
    kept = _kept(MinutiaeParams())
    assert (57, 40) not in kept and (60, 40) not in kept
    assert (60, 10) in kept   # the ridge's own ending is untouched


def test_a_real_short_branch_is_kept():
    kept = _kept(MinutiaeParams())
    assert {(48, 80), (60, 80)} <= kept


def test_a_long_spur_threshold_removes_the_branch_too():
    kept = _kept(dataclasses.replace(MinutiaeParams(), spur_length_px=15))
    assert (48, 80) not in kept and (60, 80) not in kept
