"""Extraction on real FVC2002 images and on edge cases.

Accuracy against matching error is measured by the benchmarks; these tests check that the
extractor is correct: every real image extracts, counts are plausible, the result is
deterministic and geometrically consistent under rotation and translation.
"""

from __future__ import annotations

import numpy as np
import pytest

from matcher import InvalidImageError, transparency
from matcher.features import extract
from matcher.formats import dumps
from matcher.image import load_image

MATCH_DISTANCE_PX = 8.0
MATCH_ANGLE_RAD = np.radians(20.0)


def _all_images(root):
    return sorted(root.glob("db*_b/*.tif"))


@pytest.fixture(scope="module")
def templates(fvc2002):
    """Every FVC2002 B image extracted once (shared by the tests of this module)."""
    return {path: extract(path) for path in _all_images(fvc2002)}


def test_every_fvc2002_image_extracts_with_plausible_counts(fvc2002, templates):
    assert len(templates) == 320
    counts = {}
    for path, template in templates.items():
        template.validate()
        assert template.dpi == 500
        counts.setdefault(path.parent.name, []).append(len(template))
        assert 12 <= len(template) <= 150, f"{path.name}: {len(template)} minutiae"
        assert 0 < template.image_quality <= 100
        assert set(np.unique(template.kind)) <= {1, 2}
    # each database gives a sensible distribution, not a degenerate one
    for db, values in counts.items():
        assert 20 <= np.median(values) <= 80, (db, np.median(values))


def test_extraction_is_deterministic(fvc2002, templates):
    path = fvc2002 / "db2_b" / "103_4.tif"
    assert dumps(extract(path), format="native") == dumps(templates[path], format="native")


def _rotate_translate(pixels: np.ndarray) -> np.ndarray:
    """Rotate by 90 degrees counter-clockwise (as viewed) and translate by (20, 10) px."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    rotated = np.pad(np.rot90(pixels), ((10, 0), (20, 0)), constant_values=int(np.median(border)))
    return np.ascontiguousarray(rotated)


def _mapped_fraction(original, transformed, width: int) -> float:
    """Fraction of the original minutiae found in the transformed template (8 px, 20 deg)."""
    ex = original.y.astype(float) + 20
    ey = width - 1 - original.x.astype(float) + 10
    ea = np.mod(original.angle + np.pi / 2, 2 * np.pi)
    distance = np.hypot(ex[:, None] - transformed.x[None], ey[:, None] - transformed.y[None])
    turn = np.abs(np.mod(ea[:, None] - transformed.angle[None] + np.pi, 2 * np.pi) - np.pi)
    return float(((distance <= MATCH_DISTANCE_PX) & (turn <= MATCH_ANGLE_RAD)).any(axis=1).mean())


@pytest.mark.parametrize("name", ["db1_b/101_1.tif", "db1_b/106_3.tif", "db2_b/102_2.tif",
                                  "db2_b/108_6.tif", "db3_b/104_1.tif", "db3_b/109_5.tif",
                                  "db4_b/103_2.tif", "db4_b/107_8.tif"])
def test_minutiae_follow_rotation_and_translation(fvc2002, templates, name):
    path = fvc2002 / name
    pixels = load_image(path).at_dpi(500)
    moved = extract(_rotate_translate(pixels))
    fraction = _mapped_fraction(templates[path], moved, pixels.shape[1])
    assert fraction >= 0.70, f"{name}: only {fraction:.0%} of the minutiae follow the transformation"


def test_transparency_captures_every_stage(fvc2002):
    keys = {"image", "mask", "normalized", "orientation", "coherence", "frequency", "enhanced",
            "binary", "skeleton", "minutiae_raw", "minutiae_filtered"}
    with transparency.capture() as data:
        template = extract(fvc2002 / "db1_b" / "101_1.tif")
    assert keys <= set(data)
    assert data["mask"].shape == (template.height, template.width) and data["mask"].dtype == bool
    assert len(data["minutiae_raw"]) >= len(data["minutiae_filtered"]) >= len(template)
    assert np.all((data["orientation"] >= 0) & (data["orientation"] < np.pi))


def test_minutiae_lie_inside_the_foreground(fvc2002):
    with transparency.capture(keys={"mask"}) as data:
        template = extract(fvc2002 / "db3_b" / "102_3.tif")
    assert data["mask"][template.y, template.x].all()


def test_quality_orders_the_minutiae(fvc2002, templates):
    template = templates[fvc2002 / "db1_b" / "105_2.tif"]
    assert np.all(np.diff(template.quality.astype(int)) <= 0)


@pytest.mark.parametrize("value", [0, 255, 128])
def test_blank_image_gives_an_empty_template(value):
    template = extract(np.full((300, 300), value, dtype=np.uint8))
    assert len(template) == 0 and template.image_quality == 0


def test_noise_does_not_crash():
    noise = np.random.default_rng(0).integers(0, 256, (256, 256)).astype(np.uint8)
    template = extract(noise)
    template.validate()
    assert template.image_quality < 50


def test_higher_resolution_images_are_resampled_to_500_dpi(fvc2002, templates):
    path = fvc2002 / "db1_b" / "102_1.tif"
    pixels = load_image(path).pixels
    upscaled = np.kron(pixels, np.ones((2, 2), dtype=np.uint8))  # the same finger at 1000 dpi
    template = extract(upscaled, dpi=1000)
    assert (template.width, template.height) == (pixels.shape[1], pixels.shape[0])
    reference = templates[path]
    distance = np.hypot(reference.x[:, None] - template.x[None], reference.y[:, None] - template.y[None])
    assert (distance.min(axis=1) <= MATCH_DISTANCE_PX).mean() >= 0.6


def test_invalid_inputs_raise_invalid_image_error(tmp_path):
    with pytest.raises(InvalidImageError):
        extract(b"")
    with pytest.raises(InvalidImageError):
        extract(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(InvalidImageError):
        extract(np.zeros((300, 300), dtype=np.uint8), dpi=100)
    with pytest.raises(InvalidImageError):
        extract(tmp_path / "missing.png")
