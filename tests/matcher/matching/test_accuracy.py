"""Accuracy on real pairs with the shipped calibration: the whole of FVC2002 db1_b (10 fingers x
8 impressions, 280 genuine and 2880 impostor pairs, the FVC protocol of ``benchmarks verify``).

The bounds are the measured figures (docs/RESULTS.md) plus a margin of a few pairs, so a
change that costs accuracy fails here before it reaches the benchmark.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from matcher import extract
from matcher.matching import Matcher, fmr_for_score, fuse, threshold_for_fmr, verify
from matcher.template import Template
from tests.matcher.matching._templates import rotated

#: At the threshold for FMR 1 %: measured FNMR on db1_b 2.1 % (6 of 280 pairs).
MAX_FNMR_AT_FMR_1E2 = 0.04
#: The same threshold lets through at most this fraction of db1_b's impostor pairs (measured
#: 0.07 %, 2 of 2880: the shipped table holds for the hardest of the four sensors).
MAX_FMR_AT_FMR_1E2 = 0.01
#: At the threshold for FMR 1e-4 (the SIM-registration default): measured FNMR 3.6 % (10 pairs).
MAX_FNMR_AT_FMR_1E4 = 0.06
#: The same pairs with the second impression turned by a further 45 degrees, at the threshold for
#: FMR 1 %: measured FNMR 2.9 % both ways (8 pairs). A direction gate of 60 degrees instead of
#: 90 measured 16-17 % here (docs/RESULTS.md): this bound is what keeps the gate wide.
MAX_FNMR_TURNED_45 = 0.05


@pytest.fixture(scope="module")
def db1(fvc2002: Path) -> list[tuple[str, Template]]:
    paths = sorted((fvc2002 / "db1_b").glob("*.tif"))
    with ThreadPoolExecutor(2) as pool:
        templates = list(pool.map(extract, paths))
    return [(path.stem.rsplit("_", 1)[0], template) for path, template in zip(paths, templates, strict=True)]


@pytest.fixture(scope="module")
def scores(db1: list[tuple[str, Template]]) -> tuple[np.ndarray, np.ndarray]:
    genuine: list[float] = []
    impostor: list[float] = []
    for i, (finger, template) in enumerate(db1):
        rest = db1[i + 1:]
        batch = Matcher(template).score_many([t for _, t in rest])
        for (other, _), score in zip(rest, batch, strict=True):
            (genuine if other == finger else impostor).append(float(score))
    return np.array(genuine), np.array(impostor)


def test_fvc_protocol_pair_counts(scores):
    genuine, impostor = scores
    assert len(genuine) == 10 * 28 and len(impostor) == 80 * 79 // 2 - 280


def test_fnmr_and_fmr_at_calibrated_thresholds(scores):
    genuine, impostor = scores
    threshold = threshold_for_fmr(1e-2)
    assert np.mean(genuine < threshold) <= MAX_FNMR_AT_FMR_1E2
    assert np.mean(impostor >= threshold) <= MAX_FMR_AT_FMR_1E2
    assert np.mean(genuine < threshold_for_fmr(1e-4)) <= MAX_FNMR_AT_FMR_1E4


@pytest.mark.parametrize("degrees", [-45, 45])
def test_genuine_pairs_turned_by_45_degrees_still_match(db1, degrees):
    # On top of the rotation the impressions already differ by, a further 45 degrees must stay
    # inside the matcher's +-90 degree direction gate (MCC's delta_theta) with little loss.
    threshold = threshold_for_fmr(1e-2)
    genuine = [Matcher(a).score(rotated(b, degrees))
               for (finger_a, a), (finger_b, b) in itertools.combinations(db1, 2) if finger_a == finger_b]
    assert len(genuine) == 280
    assert np.mean(np.array(genuine) < threshold) <= MAX_FNMR_TURNED_45


def test_genuine_and_impostor_distributions_separate(scores):
    genuine, impostor = scores
    assert np.median(genuine) > 5 * np.median(impostor)
    assert fmr_for_score(float(np.median(genuine))) < 1e-4 < fmr_for_score(float(np.median(impostor)))


def test_verify_decisions_on_real_pairs(db1):
    fingers = {}
    for finger, template in db1:
        fingers.setdefault(finger, []).append(template)
    same = fingers["101"]
    accepted, score = verify(same[0], same[1], fmr=1e-3)
    assert accepted and score >= threshold_for_fmr(1e-3)
    rejected = [verify(a, b, fmr=1e-3)[0] for a, b in itertools.product(fingers["101"][:2], fingers["102"][:2])]
    assert not any(rejected)


def test_two_genuine_fingers_fuse_above_either(db1):
    fingers = {}
    for finger, template in db1:
        fingers.setdefault(finger, []).append(template)
    first = Matcher(fingers["103"][0]).score(fingers["103"][1])
    second = Matcher(fingers["104"][0]).score(fingers["104"][1])
    assert fuse([first, second]) >= max(first, second)
    impostor = Matcher(fingers["105"][0]).score(fingers["106"][0])
    assert fuse([impostor, impostor]) < threshold_for_fmr(1e-4)
