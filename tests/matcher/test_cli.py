"""matcher.cli: ``matcher extract`` to every format, failures, directories, ``matcher show``."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from matcher.cli import SUFFIX_OF_FORMAT, main
from matcher.features import extract
from matcher.formats import FORMATS, loads

REPO = Path(__file__).resolve().parents[2]


def fork_pattern(size: int = 220) -> np.ndarray:
    """Vertical ridges with two dislocations: a bifurcation near (80, 82), an ending near (141, 151)."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    phase = (2 * np.pi * cols / 9 + np.arctan2(rows - 80, cols - 80)
             - np.arctan2(rows - 150, cols - 140))
    return (127 + 100 * np.cos(phase)).astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray | None = None) -> Path:
    Image.fromarray(fork_pattern() if pixels is None else pixels).save(path, format="PNG")
    return path


@pytest.fixture
def good_png(tmp_path: Path) -> Path:
    return write_png(tmp_path / "fork.png")


@pytest.mark.parametrize("fmt", FORMATS)
def test_extract_writes_each_format_readable_back(fmt: str, good_png: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["extract", str(good_png), "-o", str(out), "--format", fmt, "--quiet"]) == 0
    written = out / ("fork" + SUFFIX_OF_FORMAT[fmt])
    assert sorted(out.iterdir()) == [written]
    options = {"width": 220, "height": 220} if fmt == "xyt" else {}
    template = loads(written.read_bytes(), fmt, **options)
    expected = extract(good_png)
    assert len(expected) >= 1
    assert len(template) == len(expected)
    assert np.array_equal(np.sort(template.x), np.sort(expected.x))
    if fmt == "native":
        assert template == expected
    assert "1 extracted, 0 failed" in capsys.readouterr().out


def test_corrupt_file_is_reported_and_the_rest_written(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_png(folder / "a.png")
    (folder / "b.png").write_bytes(b"not an image at all")
    write_png(folder / "c.PNG")
    out = tmp_path / "out"
    assert main(["extract", str(folder), "-o", str(out), "--format", "iso"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.iso", "c.iso"]
    captured = capsys.readouterr()
    assert "b.png" in captured.err and "not a supported format" in captured.err
    assert "Traceback" not in captured.err
    assert "2 extracted, 1 failed" in captured.out


def test_directory_input_takes_image_files_only_not_recursive(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    write_png(folder / "top.png")
    write_png(folder / "sub" / "deep.png")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert main(["extract", str(folder), "-o", str(out), "-q"]) == 0
    assert [p.name for p in out.iterdir()] == ["top.bsm"]


def test_missing_file_and_empty_directory_fail_without_stopping(
        good_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    code = main(["extract", str(tmp_path / "missing.tif"), str(empty), str(good_png), "-o", str(out)])
    assert code == 1
    assert (out / "fork.bsm").is_file()
    captured = capsys.readouterr()
    assert "missing.tif" in captured.err and "no image files" in captured.err
    assert "1 extracted, 2 failed" in captured.out


@pytest.mark.parametrize("argv", [
    [],
    ["extract", "x.png"],                                   # no -o
    ["extract", "x.png", "-o", "out", "--format", "pdf"],
    ["extract", "x.png", "-o", "out", "--dpi", "100"],
    ["extract", "x.png", "-o", "out", "--dpi", "five"],
    ["show", "x.png"],
    ["identify"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_two_inputs_writing_the_same_output_is_a_usage_error(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_png(tmp_path / name / "same.png")
    out = tmp_path / "out"
    assert main(["extract", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out)]) == 2
    assert not out.exists()


def test_show_writes_overlay_png_at_500_dpi(good_png: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    overlay = tmp_path / "overlay.png"
    assert main(["show", str(good_png), "-o", str(overlay)]) == 0
    with Image.open(overlay) as image:
        assert image.mode == "RGB" and image.size == (220, 220)
        pixels = np.asarray(image)
    assert (pixels == (0, 255, 255)).all(axis=2).any()     # mask outline
    out = capsys.readouterr().out
    assert "2 minutiae" in out and "image quality" in out
    half = tmp_path / "half.png"
    assert main(["show", str(good_png), "--dpi", "1000", "-o", str(half)]) == 0
    with Image.open(half) as image:
        assert image.size == (110, 110)


def test_show_reports_bad_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"this is no TIFF")
    assert main(["show", str(bad), "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "bad.tif" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_python_m_matcher_end_to_end(good_png: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "matcher", "extract", str(good_png), str(bad),
                           "-o", str(out), "--format", "xyt"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    assert "bad.png" in done.stderr and "Traceback" not in done.stderr
    assert "1 extracted, 1 failed" in done.stdout
    assert loads((out / "fork.xyt").read_bytes(), "xyt", width=220, height=220).x.size >= 1


def test_extract_fvc_images(fvc2002: Path, tmp_path: Path) -> None:
    images = [fvc2002 / "db1_b" / "101_1.tif", fvc2002 / "db2_b" / "101_1.tif"]
    out = tmp_path / "out"
    # the same stem in two folders would collide; give them one folder each
    for i, image in enumerate(images):
        assert main(["extract", str(image), "-o", str(out / str(i)), "-f", "ansi"]) == 0
        template = loads((out / str(i) / "101_1.ansi").read_bytes(), "ansi")
        assert len(template) > 10 and template.dpi == 500


def test_docstring_examples() -> None:
    from matcher import cli
    assert doctest.testmod(cli, optionflags=doctest.ELLIPSIS).failed == 0
