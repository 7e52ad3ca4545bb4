"""datasets.synthetic.templates: determinism, invariants, separation under the real matcher, the store."""

from __future__ import annotations

import argparse
import doctest
import json
from pathlib import Path

import numpy as np
import pytest

import benchmarks.synthetic as bench
from benchmarks._pairs import genuine_pairs, impostor_pairs, score_pairs
from datasets.synthetic import templates as synth
from matcher.errors import InvalidParameterError, TemplateVersionError
from matcher.matching import Matcher
from matcher.template import Template

P = synth.DEFAULT_PARAMS


def test_same_seed_same_templates_in_any_order() -> None:
    first = [t for batch in synth.iter_batches(3, 4, 3) for _, _, t in batch]
    again = [synth.impression(3, f, k) for f in reversed(range(4)) for k in reversed(range(3))][::-1]
    assert first == again
    assert synth.impression(4, 0, 0) != first[0]
    assert synth.impression(3, 0, 1) != first[0]
    shifted = synth.generate_arrays(3, 2, 2, 3)
    assert np.array_equal(shifted["x"][:shifted["offsets"][1]], first[6].x)
    assert shifted["finger"].tolist() == [2, 2, 2, 3, 3, 3]


def test_masters_are_plausible() -> None:
    counts = []
    for finger in range(30):
        m = synth.master(0, finger)
        a, b = m.semi_axes
        assert P.semi_width_px[0] <= a <= P.semi_width_px[1] and P.semi_height_px[0] <= b <= P.semi_height_px[1]
        assert np.all((m.x / a) ** 2 + (m.y / b) ** 2 <= 1.0)
        d = np.hypot(m.x[:, None] - m.x[None], m.y[:, None] - m.y[None])
        np.fill_diagonal(d, np.inf)
        assert d.min() >= P.min_spacing_px
        assert set(np.unique(m.kind)) <= {1, 2} and np.all((m.reliability >= 0) & (m.reliability <= 1))
        counts.append(m.x.size)
    assert 40 <= np.median(counts) <= 90


def test_impressions_are_valid_templates_with_realistic_counts() -> None:
    templates = [t for batch in synth.iter_batches(0, 40, 4, batch_size=7) for _, _, t in batch]
    assert len(templates) == 160
    counts = np.array([len(t) for t in templates])
    assert counts.min() >= P.min_minutiae and counts.max() <= 255
    assert 35 <= np.median(counts) <= 60
    kinds = np.concatenate([t.kind for t in templates])
    assert 0.3 <= np.mean(kinds == 2) <= 0.5
    for t in templates:
        t.validate()
        assert (t.width, t.height, t.dpi) == (P.canvas_width_px, P.canvas_height_px, 500)
        assert np.all(t.angle < 2 * np.pi) and np.all(np.diff(t.quality.astype(int)) <= 0)  # best first


def test_impressions_of_one_master_match_better_than_different_masters() -> None:
    templates, fingers = [], []
    for batch in synth.iter_batches(5, 8, 3):
        for finger, _, template in batch:
            templates.append(template)
            fingers.append(finger)
    genuine = score_pairs(templates, genuine_pairs(fingers), matcher=Matcher, threads=2)
    impostor = score_pairs(templates, impostor_pairs(fingers, "all"), matcher=Matcher, threads=2)
    assert np.median(genuine) > 4 * np.median(impostor)
    assert np.mean(genuine > impostor.max()) >= 0.75
    assert impostor.max() < 0.06


def test_store_round_trips_and_refuses_other_versions(tmp_path: Path) -> None:
    store = synth.write_store(tmp_path / "s", seed=2, fingers=5, impressions=2, workers=2, chunk_fingers=2)
    assert len(store) == 10 and store.meta["templates"] == 10
    assert store.offsets[-1] == store.x.size == store.meta["minutiae"]
    expected = [t for batch in synth.iter_batches(2, 5, 2) for _, _, t in batch]
    assert [store.template(i) for i in range(10)] == expected
    assert store.finger.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and store.impression.tolist() == [0, 1] * 5
    assert isinstance(store.x, np.memmap) and store.x.dtype == np.int16 and store.angle.dtype == np.float32
    with pytest.raises(InvalidParameterError):
        store.template(10)
    meta = json.loads((tmp_path / "s" / "meta.json").read_text())
    (tmp_path / "s" / "meta.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(TemplateVersionError, match="version 99"):
        synth.TemplateStore(tmp_path / "s")


def test_bad_arguments_are_refused() -> None:
    for call in (lambda: synth.impression(-1, 0, 0), lambda: synth.impression(0, 1.5, 0),
                 lambda: synth.master(0, True), lambda: list(synth.iter_batches(0, 2, 2, batch_size=0))):
        with pytest.raises(InvalidParameterError):
            call()
    assert isinstance(synth.impression(0, 0, 0), Template)


def test_benchmark_reports_synthetic_and_real_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real" / "db9"
    real.mkdir(parents=True)
    np.savez(real / "scores.npz", genuine=np.array([0.1, 0.2, 0.3]), impostor=np.array([0.01, 0.02]))
    parser = argparse.ArgumentParser()
    bench.add_parser(parser.add_subparsers())
    args = parser.parse_args(["synthetic", "--fingers", "6", "--impressions", "3", "--workers", "1",
                              "--threads", "2", "--real", str(tmp_path / "real"), "--out", str(tmp_path / "o")])
    assert args.run(args) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["generation"]["templates"] == 18 and report["synthetic"]["genuine"] == 18
    assert set(report["real"]) == {"db9", "mean"} and report["real"]["mean"]["eer"] == 0.0
    assert "synthetic" in capsys.readouterr().out and (tmp_path / "o" / "store" / "meta.json").is_file()


@pytest.mark.parametrize("module", [synth, bench])
def test_docstring_examples(module: object) -> None:
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
