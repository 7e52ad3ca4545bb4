"""datasets.synthetic images: kernel parity with numpy/scipy references, determinism, classes, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from datasets.synthetic import _kernels, cli
from datasets.synthetic.images import finger_images, make_master, render_impression
from datasets.synthetic.orientation import (
    CLASS_FREQUENCIES,
    CLASSES,
    FingerprintArea,
    draw_class,
    draw_singular_points,
    orientation_field,
)
from datasets.synthetic.ridges import GrowthParams, gabor_bank

AREA = FingerprintArea(center_row=250, center_col=200, a1=170, a2=170, b1=150, b2=120, c=140)


def test_gabor_step_matches_reference() -> None:
    rng = np.random.default_rng(0)
    params = GrowthParams(angle_bins=8, frequency_bins=3, half_px=3, sigma_px=1.5)
    bank, _ = gabor_bank(params)
    pattern = rng.uniform(-1, 1, (23, 31)).astype(np.float32)
    active = rng.random((23, 31)) > 0.3
    angle = rng.integers(0, 8, (23, 31))
    frequency = rng.integers(0, 3, (23, 31))
    out, changed = _kernels.gabor_step(pattern, active, angle, frequency, bank, np.float32(2.5), np.float32(0.1))
    padded = np.pad(pattern.astype(np.float64), 3)
    expected = pattern.astype(np.float64).copy()
    for r, c in zip(*np.nonzero(active), strict=True):
        window = padded[r:r + 7, c:c + 7]
        expected[r, c] = np.clip(2.5 * (window * bank[angle[r, c], frequency[r, c]]).sum(), -1, 1)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_array_equal(changed, np.abs(expected - pattern) > 0.1)


def test_gabor_bank_passes_its_grating() -> None:
    params = GrowthParams(angle_bins=4, frequency_bins=2)
    bank, frequencies = gabor_bank(params)
    half = params.half_px
    dr, dc = np.mgrid[-half:half + 1, -half:half + 1]
    phi = math.pi / 4                                   # bin 1 of 4
    grating = np.cos(2 * math.pi * frequencies[1] * (-dc * math.sin(phi) + dr * math.cos(phi)))
    assert (bank[1, 1] * grating).sum() == pytest.approx(1.0, abs=1e-5)
    assert abs(bank[1, 1].sum()) < 1e-5                 # zero mean: flat areas stay flat


@pytest.mark.parametrize("half", [0, 1, 3])
def test_dilate_box_matches_scipy(half: int) -> None:
    mask = np.random.default_rng(half).random((19, 26)) > 0.93
    expected = ndi.binary_dilation(mask, structure=np.ones((2 * half + 1,) * 2, bool)) if half else mask
    np.testing.assert_array_equal(_kernels.dilate_box(mask, half), expected)


def test_remap_matches_map_coordinates() -> None:
    rng = np.random.default_rng(2)
    image = rng.random((17, 21)).astype(np.float32)
    rows = rng.uniform(-2, 18, (9, 13)).astype(np.float32)
    cols = rng.uniform(-2, 22, (9, 13)).astype(np.float32)
    rows[0, 0], cols[0, 0] = 16.0, 20.0                 # the far corner is inside
    expected = ndi.map_coordinates(image.astype(np.float64), [rows, cols], order=1, mode="constant", cval=-1.0)
    np.testing.assert_allclose(_kernels.remap(image, rows, cols, np.float32(-1.0)), expected, atol=1e-5)


def test_class_frequencies_and_singular_points() -> None:
    assert sum(CLASS_FREQUENCIES) == pytest.approx(1.0)
    rng = np.random.default_rng(3)
    drawn = [draw_class(rng) for _ in range(4000)]
    for kind, frequency in zip(CLASSES, CLASS_FREQUENCIES, strict=True):
        assert drawn.count(kind) / 4000 == pytest.approx(frequency, abs=0.025)
    counts = {kind: draw_singular_points(kind, AREA, rng) for kind in CLASSES}
    assert {k: (len(p.cores), len(p.deltas)) for k, p in counts.items()} == {
        "arch": (0, 0), "tented_arch": (1, 1), "left_loop": (1, 1), "right_loop": (1, 1), "whorl": (2, 2)}
    # a left loop's delta lies right of its core, a right loop's left; a tented arch's below
    left, right, tented = counts["left_loop"], counts["right_loop"], counts["tented_arch"]
    assert left.deltas[0, 1] > left.cores[0, 1] and right.deltas[0, 1] < right.cores[0, 1]
    assert tented.deltas[0, 0] > tented.cores[0, 0] + 50
    with pytest.raises(ValueError, match="kind"):
        draw_singular_points("loop", AREA, rng)


def test_orientation_winds_around_singular_points() -> None:
    """Poincare index: +1/2 around a core, -1/2 around a delta (Sherlock & Monro)."""
    points = draw_singular_points("left_loop", AREA, np.random.default_rng(4))
    field = orientation_field((500, 400), points)

    def poincare(row: float, col: float) -> float:
        t = np.linspace(0, 2 * math.pi, 65)
        angles = field[np.rint(row + 12 * np.sin(t)).astype(int), np.rint(col + 12 * np.cos(t)).astype(int)]
        steps = np.diff(angles.astype(np.float64))
        steps = (steps + math.pi / 2) % math.pi - math.pi / 2
        return steps.sum() / (2 * math.pi)

    assert abs(poincare(*points.cores[0])) == pytest.approx(0.5, abs=1e-3)
    assert abs(poincare(*points.deltas[0])) == pytest.approx(0.5, abs=1e-3)
    assert poincare(*points.cores[0]) == pytest.approx(-poincare(*points.deltas[0]), abs=1e-3)
    assert abs(poincare(100, 60)) < 1e-3


def test_images_are_deterministic_per_seed() -> None:
    kind, first = finger_images(5, 3, 2, shape=(96, 80))
    again_kind, again = finger_images(5, 3, 2, shape=(96, 80))
    assert kind == again_kind
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])          # two impressions differ
    _, other = finger_images(6, 3, 1, shape=(96, 80))
    assert not np.array_equal(first[0], other[0])


def test_impression_size_dtype_and_contrast() -> None:
    master = make_master(np.random.default_rng(8), shape=(160, 128), kind="right_loop")
    assert master.kind == "right_loop" and master.pattern.dtype == np.float32
    assert np.abs(master.pattern[master.area.mask((160, 128))]).mean() > 0.6   # ridges saturate
    image = render_impression(master, np.random.default_rng(9))
    assert image.shape == (160, 128) and image.dtype == np.uint8
    assert image.min() < 90 and image.max() > 180                           # dark ridges, light paper
    with pytest.raises(ValueError, match="shape"):
        make_master(np.random.default_rng(0), shape=(32, 128))


def test_cli_writes_fvc_names_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "set"
    status = cli.main(["--fingers", "2", "--impressions", "2", "--seed", "11", "--width", "80",
                       "--height", "96", "--workers", "2", "-o", str(out)])
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["1_1.png", "1_2.png", "2_1.png", "2_2.png", "synthetic.json"]
    with Image.open(out / "2_1.png") as image:
        assert image.size == (80, 96) and image.mode == "L"
        assert round(image.info["dpi"][0]) == 500
        pixels = np.asarray(image)
    manifest = json.loads((out / "synthetic.json").read_text())
    assert manifest["seed"] == 11 and manifest["version"] == cli.GENERATOR_VERSION
    assert set(manifest["classes"]) == {"1", "2"} and set(manifest["classes"].values()) <= set(CLASSES)
    assert manifest["parameters"]["impression"]["max_rotation_deg"] > 0
    np.testing.assert_array_equal(pixels, finger_images(11, 2, 1, shape=(96, 80))[1][0])
    assert cli.main(["--fingers", "0", "-o", str(out)]) == 2
