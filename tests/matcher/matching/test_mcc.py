"""The public 1:1 matcher: Matcher(probe).score / score_many and compare."""

from __future__ import annotations

import gc
import itertools
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import matcher.matching
from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.matching import _native
from matcher.params import MatchingParams
from matcher.template import Template
from tests.matcher.matching._templates import HEIGHT, WIDTH, at_1000_dpi, mated, random_template, rotated


@pytest.fixture(scope="module")
def synthetic() -> list[Template]:
    """Ten random templates followed by a mated copy of each (scores from ~0 to ~0.5)."""
    rng = np.random.default_rng(2024)
    originals = [random_template(rng, int(rng.integers(15, 60)), ("uniform", "clustered")[i % 2])
                 for i in range(10)]
    return originals + [mated(rng, t) for t in originals]


def degenerate_templates() -> dict[str, Template]:
    return {
        "empty": Template.empty(width=WIDTH, height=HEIGHT),
        "one": Template(x=[150], y=[200], angle=[1.0], kind=[1], quality=[90], width=WIDTH, height=HEIGHT),
        "two far apart": Template(x=[5, 290], y=[5, 390], angle=[0.5, 4.0], kind=[1, 2], quality=[90, 90],
                                  width=WIDTH, height=HEIGHT),
    }


def test_public_names():
    from matcher.matching import Matcher, build_info, compare

    assert {"Matcher", "build_info", "compare"} <= set(matcher.matching.__all__)
    assert Matcher is matcher.matching.mcc.Matcher and compare is matcher.matching.mcc.compare
    assert build_info()["abi_version"] == _native.ABI_VERSION


def test_scores_are_similarities_in_the_unit_interval(synthetic):
    scores = [matcher.matching.compare(a, b) for a, b in itertools.product(synthetic, repeat=2)]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    assert max(scores) > 0.9 and min(scores) < 0.05


@pytest.mark.parametrize("layout", ["uniform", "clustered"])
@pytest.mark.parametrize("n", [20, 60, 255])
def test_a_template_matches_itself(n, layout):
    t = random_template(np.random.default_rng(n), n, layout)
    assert matcher.matching.Matcher(t).score(t) > 0.9


def test_compare_is_the_matcher_score(synthetic):
    a, b = synthetic[0], synthetic[10]
    assert matcher.matching.compare(a, b) == matcher.matching.Matcher(a).score(b)
    params = MatchingParams(spatial_cells=8)
    assert (matcher.matching.compare(a, b, params=params)
            == matcher.matching.Matcher(a, params=params).score(b))


@pytest.mark.parametrize("name", sorted(degenerate_templates()))
def test_templates_without_usable_cylinders_score_zero(name, synthetic):
    small = degenerate_templates()[name]
    for other in [*degenerate_templates().values(), *synthetic[:3]]:
        assert matcher.matching.compare(small, other) == 0.0
        assert matcher.matching.compare(other, small) == 0.0
    many = matcher.matching.Matcher(small).score_many([*degenerate_templates().values(), *synthetic])
    assert many.tolist() == [0.0] * (3 + len(synthetic))
    assert matcher.matching.Matcher(synthetic[0]).score_many([small] * 20).tolist() == [0.0] * 20


# ---- score_many ----

@pytest.mark.parametrize("threads", [1, 2, 3, None])
def test_score_many_equals_score_one_by_one(synthetic, threads):
    candidates = synthetic * 3          # 60: several chunks of 16 for the worker threads
    for probe in (synthetic[0], synthetic[15]):
        m = matcher.matching.Matcher(probe)
        many = m.score_many(candidates, threads=threads)
        assert many.dtype == np.float32 and many.shape == (len(candidates),)
        np.testing.assert_array_equal(many, np.array([m.score(c) for c in candidates], dtype=np.float32))


def test_score_many_of_nothing_is_an_empty_float32_array(synthetic):
    for threads in (1, 4, None):
        result = matcher.matching.Matcher(synthetic[0]).score_many([], threads=threads)
        assert isinstance(result, np.ndarray) and result.dtype == np.float32 and result.shape == (0,)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_score_many_rejects_bad_thread_counts(synthetic, threads):
    with pytest.raises(InvalidParameterError, match="threads"):
        matcher.matching.Matcher(synthetic[0]).score_many(synthetic, threads=threads)


def test_huge_thread_counts_are_clamped(synthetic):
    m = matcher.matching.Matcher(synthetic[0])
    result = m.score_many(synthetic, threads=2**31)
    np.testing.assert_array_equal(result, m.score_many(synthetic, threads=1))


@pytest.mark.parametrize("bad", [None, "template", np.zeros((3, 4)), {"x": [1]}])
def test_non_templates_are_rejected(synthetic, bad):
    m = matcher.matching.Matcher(synthetic[0])
    with pytest.raises(InvalidTemplateError, match="candidate"):
        m.score(bad)
    with pytest.raises(InvalidTemplateError, match=r"candidates\[1\]"):
        m.score_many([synthetic[1], bad])
    with pytest.raises(InvalidTemplateError, match="probe"):
        matcher.matching.Matcher(bad)
    with pytest.raises(InvalidTemplateError):
        matcher.matching.compare(synthetic[0], bad)


@pytest.mark.parametrize("params", [{"radius_px": 70.0}, "default", 1])
def test_non_params_are_rejected(synthetic, params):
    with pytest.raises(InvalidParameterError, match="params"):
        matcher.matching.Matcher(synthetic[0], params=params)


def test_score_many_from_concurrent_python_threads(synthetic):
    candidates = synthetic * 4
    probes = synthetic[:4]
    expected = [matcher.matching.Matcher(p).score_many(candidates, threads=1) for p in probes]
    start = threading.Barrier(4)

    def work(i: int) -> list[np.ndarray]:
        m = matcher.matching.Matcher(probes[i])
        start.wait()
        return [m.score_many(candidates, threads=2) for _ in range(5)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    for i, runs in enumerate(results):
        for run in runs:
            np.testing.assert_array_equal(run, expected[i])


# ---- invariances ----

@pytest.mark.parametrize("degrees", [-30, 30])
def test_rotation_and_translation_barely_change_the_score(degrees):
    rng = np.random.default_rng(5)
    t = random_template(rng, 45, "clustered")
    moved = rotated(t, degrees)
    assert matcher.matching.compare(t, moved) > 0.8
    assert matcher.matching.compare(moved, t) > 0.8
    # Control: moving the positions without turning the directions must not match, so the
    # helper really is a rigid motion in the as-viewed frame.
    unturned = Template(x=moved.x, y=moved.y, angle=t.angle, kind=t.kind, quality=t.quality,
                        width=moved.width, height=moved.height)
    assert matcher.matching.compare(t, unturned) < 0.3


def test_the_same_minutiae_at_1000_dpi_score_the_same(synthetic):
    for a, b in [(synthetic[0], synthetic[10]), (synthetic[3], synthetic[13]), (synthetic[1], synthetic[2])]:
        expected = matcher.matching.compare(a, b)
        for x, y in [(at_1000_dpi(a), at_1000_dpi(b)), (a, at_1000_dpi(b)), (at_1000_dpi(a), b)]:
            assert abs(matcher.matching.compare(x, y) - expected) <= 1e-6
    assert matcher.matching.compare(synthetic[0], synthetic[10]) > 0.1


# ---- the cache of prepared templates ----

def test_preparation_is_cached_per_template_and_released_with_it():
    params = MatchingParams()
    t = random_template(np.random.default_rng(99), 30)
    first = _native.prepare(t, params)
    assert _native.prepare(t, params) is first
    assert matcher.matching.Matcher(t).score(t) > 0.9
    assert _native.prepare(t, params) is first
    other = _native.prepare(t, MatchingParams(spatial_cells=8))
    assert other is not first and _native.prepare(t, MatchingParams(spatial_cells=8)) is other
    alive = weakref.ref(first)
    del first, other
    gc.collect()
    assert alive() is not None          # held by the cache while the template lives
    del t
    gc.collect()
    assert alive() is None


# ---- real fingerprints (FVC2002 db1_b) ----

@pytest.mark.dataset
def test_real_templates_match_themselves_and_survive_rotation(db1_templates):
    for key in [(101, 1), (102, 2), (103, 3), (104, 1)]:
        t = db1_templates[key]
        assert matcher.matching.compare(t, t) > 0.9
        for degrees in (-30, 30):
            assert matcher.matching.compare(t, rotated(t, degrees)) > 0.8


@pytest.mark.dataset
def test_scores_are_nearly_symmetric(db1_templates):
    # Only exact ties in the greedy pair selection can make score(a, b) != score(b, a);
    # measured on these 66 pairs: no difference at all.
    gaps = np.array([abs(matcher.matching.compare(a, b) - matcher.matching.compare(b, a))
                     for a, b in itertools.combinations(db1_templates.values(), 2)])
    assert gaps.mean() < 1e-3 and gaps.max() < 0.02


@pytest.mark.dataset
def test_genuine_pairs_outscore_impostor_pairs(db1_templates):
    genuine, impostor = [], []
    for (ka, a), (kb, b) in itertools.combinations(sorted(db1_templates.items()), 2):
        (genuine if ka[0] == kb[0] else impostor).append(matcher.matching.compare(a, b))
    assert len(genuine) == 12 and len(impostor) == 54
    # Measured: genuine 0.03-0.35 (mean 0.16), impostor median 0.012 (mean 0.012).
    assert min(genuine) > np.median(impostor)
    assert np.mean(genuine) > 3 * np.mean(impostor)
