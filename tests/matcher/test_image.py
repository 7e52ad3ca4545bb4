"""matcher.image: decoding, pixel conversion, resolution, size limits and error paths."""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import wsq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, features

from matcher.errors import InvalidImageError, InvalidParameterError, MatcherError
from matcher.image import FingerprintImage, _decode_wsq, load_image

DATA = Path(__file__).parent / "data"
HAS_J2K = features.check("jpg_2000")
LOSSLESS = ["PNG", "BMP", "TIFF"] + (["JPEG2000"] if HAS_J2K else [])


def ridges(height: int = 120, width: int = 100) -> np.ndarray:
    """A smooth ridge-like pattern (lossy codecs keep it well, unlike noise)."""
    rows, cols = np.mgrid[:height, :width]
    return (128 + 100 * np.sin(cols / 4.0 + rows / 7.0)).astype(np.uint8)


def pillow_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    """Encode with Pillow directly (independent of FingerprintImage.encode)."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height but which holds almost no data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# -- arrays ---------------------------------------------------------------------------------------

def test_uint8_array_is_copied_and_read_only():
    source = ridges()
    image = FingerprintImage.from_array(source, dpi=500)
    source[0, 0] ^= 0xFF
    assert image.pixels.dtype == np.uint8 and image.pixels.shape == (120, 100)
    assert (image.width, image.height, image.dpi) == (100, 120, 500)
    assert image.pixels[0, 0] != source[0, 0]
    assert not image.pixels.flags.writeable
    with pytest.raises(ValueError):
        image.pixels[0, 0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.dpi = 1000  # type: ignore[misc]


@pytest.mark.parametrize(("values", "expected"), [
    (np.array([False, True]), [0, 255]),
    (np.array([0, 257, 65535], np.uint16), [0, 1, 255]),            # full 16-bit range
    (np.array([0, 4095], np.uint16), [0, 255]),                     # 12-bit data in uint16
    (np.array([0, 200], np.uint16), [0, 200]),                      # 8-bit data in a wide type
    (np.array([3, 250], np.int64), [3, 250]),
    (np.array([-100, 0, 100], np.int16), [0, 127, 255]),            # negatives: min/max
    (np.array([0.0, 0.5, 1.0], np.float32), [0, 128, 255]),
    (np.array([0.0, 0.5, 1.0], np.float16), [0, 128, 255]),
    (np.array([-1.0, 1.0, 3.0]), [0, 128, 255]),                    # outside [0, 1]: min/max
    (np.array([300.0, 300.0]), [255, 255]),                         # constant: clipped
])
def test_dtypes_are_scaled_to_uint8(values, expected):
    row = np.resize(values, 64)
    image = FingerprintImage.from_array(np.tile(row, (64, 1)))
    assert image.pixels.dtype == np.uint8
    assert image.pixels[0, : len(expected)].tolist() == expected


def test_colour_arrays_become_luma_and_transparent_becomes_white():
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0] = 255
    assert set(FingerprintImage.from_array(rgb).pixels.ravel()) == {76}  # 0.299 * 255
    rgba = np.concatenate([rgb, np.full((64, 64, 1), 255, np.uint8)], axis=2)
    assert FingerprintImage.from_array(rgba) == FingerprintImage.from_array(rgb)
    rgba[..., 3] = 0
    assert set(FingerprintImage.from_array(rgba).pixels.ravel()) == {255}
    grey_float = np.full((64, 64, 3), 0.5)
    assert set(FingerprintImage.from_array(grey_float).pixels.ravel()) == {128}


def test_array_like_input():
    assert FingerprintImage.from_array([[7] * 64] * 64).pixels.sum() == 7 * 64 * 64
    with pytest.raises(InvalidImageError, match="cannot be converted"):
        FingerprintImage.from_array([[1] * 64, [2] * 63])
    with pytest.raises(InvalidImageError, match="shape \\(\\)"):
        FingerprintImage.from_array(np.uint8(3))


@pytest.mark.parametrize(("array", "fragment"), [
    (np.zeros(64 * 64, np.uint8), "shape (4096,)"),
    (np.zeros((2, 64, 64, 3), np.uint8), "shape (2, 64, 64, 3)"),
    (np.zeros((64, 64, 2), np.uint8), "shape (64, 64, 2)"),
    (np.zeros((64, 64, 5), np.uint8), "shape (64, 64, 5)"),
    (np.zeros((64, 64), np.complex64), "complex64"),
    (np.zeros((64, 64), object), "object"),
    (np.full((64, 64), "a"), "<U1"),
])
def test_bad_arrays_are_rejected_naming_the_problem(array, fragment):
    with pytest.raises(InvalidImageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        FingerprintImage.from_array(array)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_floats_are_rejected(bad):
    array = np.zeros((64, 64))
    array[10, 10] = bad
    with pytest.raises(InvalidImageError, match="NaN or infinite"):
        FingerprintImage.from_array(array)


@pytest.mark.parametrize(("height", "width"), [(63, 100), (100, 63), (0, 0), (4001, 64), (64, 4001)])
def test_size_limits(height, width):
    with pytest.raises(InvalidImageError, match=f"{width}x{height} px"):
        FingerprintImage.from_array(np.zeros((height, width), np.uint8))


@pytest.mark.parametrize(("height", "width"), [(64, 64), (64, 4000), (4000, 64)])
def test_size_limits_are_inclusive(height, width):
    assert FingerprintImage.from_array(np.zeros((height, width), np.uint8)).pixels.shape == (height, width)


@pytest.mark.parametrize(("dpi", "expected"), [(250, 250), (1000, 1000), (499.6, 500), (np.int32(600), 600),
                                               (np.float64(749.5), 750)])
def test_dpi_accepted_and_rounded(dpi, expected):
    assert FingerprintImage.from_array(ridges(), dpi=dpi).dpi == expected


@pytest.mark.parametrize("dpi", [249, 1001, 0, -500, 1e9])
def test_dpi_out_of_range_names_the_value(dpi):
    with pytest.raises(InvalidImageError, match=f"dpi must be in 250..1000, got {dpi!r}"):
        FingerprintImage.from_array(ridges(), dpi=dpi)


@pytest.mark.parametrize("dpi", [True, "500", None, float("nan"), float("inf")])
def test_dpi_must_be_a_finite_number(dpi):
    with pytest.raises(InvalidImageError, match="dpi must be"):
        FingerprintImage.from_array(ridges(), dpi=dpi)


def test_equality_hash_and_repr():
    a = FingerprintImage.from_array(ridges(), dpi=500)
    assert a == FingerprintImage.from_array(ridges().astype(np.uint16), dpi=500)
    assert hash(a) == hash(FingerprintImage.from_array(ridges(), dpi=500))
    assert a != FingerprintImage.from_array(ridges(), dpi=1000)
    assert a != FingerprintImage.from_array(255 - ridges(), dpi=500)
    assert a != "not an image"
    assert repr(a) == "FingerprintImage(width=100, height=120, dpi=500)"


# -- formats --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", LOSSLESS)
def test_lossless_round_trip(fmt):
    image = FingerprintImage.from_array(ridges(), dpi=1000)
    decoded = FingerprintImage.from_bytes(image.encode(fmt))
    np.testing.assert_array_equal(decoded.pixels, image.pixels)
    assert decoded.dpi == (500 if fmt == "JPEG2000" else 1000)  # Pillow writes no JP2 resolution


@pytest.mark.parametrize(("fmt", "options"), [("JPEG", {"quality": 90}), ("WSQ", {})])
def test_lossy_round_trip(fmt, options):
    image = FingerprintImage.from_array(ridges(), dpi=1000)
    data = image.encode(fmt, **options)
    decoded = FingerprintImage.from_bytes(data)
    assert decoded.pixels.shape == image.pixels.shape and decoded.dpi == 1000
    assert np.abs(decoded.pixels.astype(int) - image.pixels).mean() < 3.0
    assert len(data) < image.pixels.size


def test_jpeg2000_skipped_or_decoded():
    if not HAS_J2K:
        pytest.skip("Pillow was built without OpenJPEG (features.check('jpg_2000') is False)")
    data = pillow_bytes(Image.fromarray(ridges()), "JPEG2000")
    np.testing.assert_array_equal(FingerprintImage.from_bytes(data).pixels, ridges())


def test_wsq_ppi_from_the_nistcom_comment():
    data = FingerprintImage.from_array(ridges(), dpi=500).encode("WSQ")
    assert b"PPI 500\n" in data
    assert FingerprintImage.from_bytes(data).dpi == 500
    assert b"PPI 750\n" in FingerprintImage.from_array(ridges(), dpi=750).encode("WSQ")


def test_wsq_file_from_the_wsq_package_without_ppi_defaults_to_500():
    sample = Path(wsq.__file__).parent / "tests" / "test.wsq"
    if not sample.is_file():
        pytest.skip(f"{sample} not installed")
    image = FingerprintImage.from_path(sample)
    assert (image.width, image.height, image.dpi) == (540, 520, 500)
    assert FingerprintImage.from_path(sample, dpi=1000).dpi == 1000


def test_wsq_that_crashes_the_nbis_decoder_is_an_error_not_a_crash():
    # Both files kill a process that hands them to ``_wsq.decompress`` (SIGABRT, and SIGSEGV in
    # most runs: NBIS corrupts its heap), so the decoder runs in a child process.
    truncated = (DATA / "wsq_truncated_header_crashes_nbis.wsq").read_bytes()
    with pytest.raises(InvalidImageError, match="WSQ data: the decoder crashed"):
        _decode_wsq(truncated, (80, 96))
    with pytest.raises(InvalidImageError, match="corrupt or truncated image header"):
        FingerprintImage.from_bytes(truncated)  # the plugin finds no frame header first
    loads_or_rejects((DATA / "wsq_corrupt_blocks_crashes_nbis.wsq").read_bytes())


@pytest.mark.parametrize(("mode", "fmt", "expected"), [
    ("1", "TIFF", 255), ("1", "PNG", 255), ("P", "BMP", 76), ("RGB", "JPEG", 76), ("RGBA", "PNG", 76),
    ("LA", "PNG", 200), ("CMYK", "TIFF", 255), ("I;16", "PNG", 128), ("F", "TIFF", 128),
])
def test_file_modes_become_8_bit_grey(mode, fmt, expected):
    colour = {"1": 1, "P": 0, "RGB": (255, 0, 0), "RGBA": (255, 0, 0, 255), "LA": (200, 255),
              "CMYK": (0, 0, 0, 0), "I;16": 2048, "F": 0.5}[mode]
    image = Image.new(mode, (70, 64), colour)
    if mode == "P":
        image.putpalette([255, 0, 0] * 256)
    if mode == "I;16":
        image.putpixel((0, 0), 4095)  # 12-bit data: scaled by 255 / 4095, not clipped
    decoded = FingerprintImage.from_bytes(pillow_bytes(image, fmt))
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (64, 70)
    assert abs(int(np.median(decoded.pixels)) - expected) <= 2


def test_transparent_png_pixels_become_white():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    assert set(FingerprintImage.from_bytes(pillow_bytes(image, "PNG")).pixels.ravel()) == {255}


# -- resolution metadata --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "JPEG", "BMP"])
def test_dpi_from_metadata_and_explicit_override(fmt):
    data = pillow_bytes(Image.fromarray(ridges()), fmt, dpi=(1000, 1000))
    assert FingerprintImage.from_bytes(data).dpi == 1000
    assert FingerprintImage.from_bytes(data, dpi=500).dpi == 500


def test_tiff_resolution_in_centimetres():
    data = pillow_bytes(Image.fromarray(ridges()), "TIFF", resolution=200.0, resolution_unit="cm")
    assert FingerprintImage.from_bytes(data).dpi == 508


@pytest.mark.parametrize("placeholder", [(1, 1), (72, 72), (96, 96), (149, 149), (0, 0)])
def test_placeholder_metadata_is_ignored(placeholder):
    data = pillow_bytes(Image.fromarray(ridges()), "TIFF", dpi=placeholder)
    assert FingerprintImage.from_bytes(data).dpi == 500
    assert FingerprintImage.from_bytes(data, dpi=1000).dpi == 1000


@pytest.mark.parametrize("dpi", [200, 1200])
def test_metadata_out_of_range_is_an_error_unless_overridden(dpi):
    data = pillow_bytes(Image.fromarray(ridges()), "PNG", dpi=(dpi, dpi))
    with pytest.raises(InvalidImageError, match=rf"says {dpi} dpi.*pass dpi="):
        FingerprintImage.from_bytes(data)
    assert FingerprintImage.from_bytes(data, dpi=500).dpi == 500


def test_non_square_pixels_are_an_error_unless_overridden():
    data = pillow_bytes(Image.fromarray(ridges()), "TIFF", dpi=(500, 1000))
    with pytest.raises(InvalidImageError, match="non-square"):
        FingerprintImage.from_bytes(data)
    assert FingerprintImage.from_bytes(data, dpi=500).dpi == 500


def test_explicit_dpi_out_of_range_is_rejected_for_bytes():
    with pytest.raises(InvalidImageError, match="got 1500"):
        FingerprintImage.from_bytes(FingerprintImage.from_array(ridges()).encode(), dpi=1500)


def test_fvc2002_tiff_with_placeholder_resolution(fvc2002):
    image = load_image(fvc2002 / "db1_b" / "101_1.tif")
    assert (image.width, image.height, image.dpi) == (388, 374, 500)
    assert image.pixels.shape == (374, 388) and image.pixels.dtype == np.uint8
    assert 0 < image.pixels.mean() < 255


# -- size from the header -------------------------------------------------------------------------

def test_oversized_header_is_rejected_before_decoding(monkeypatch):
    def no_decoding(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # our check alone must stop it
    for width, height in [(4001, 100), (100, 4001), (60000, 60000), (50, 100)]:
        with pytest.raises(InvalidImageError, match=f"{width}x{height} px"):
            FingerprintImage.from_bytes(png_declaring(width, height))


def test_decompression_bomb_is_an_invalid_image():
    with pytest.raises(InvalidImageError, match="too large"):
        FingerprintImage.from_bytes(png_declaring(60000, 60000))


# -- corrupt input and paths ----------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", bytearray(), memoryview(b"")])
def test_empty_bytes(data):
    with pytest.raises(InvalidImageError, match="empty"):
        FingerprintImage.from_bytes(data)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "JPEG", "BMP", "WSQ"])
@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_truncated_files(fmt, keep):
    data = FingerprintImage.from_array(ridges()).encode(fmt)
    with pytest.raises(InvalidImageError):
        FingerprintImage.from_bytes(data[: int(len(data) * keep)])


def test_random_and_foreign_bytes_are_not_an_image():
    noise = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(InvalidImageError, match="not a supported format"):
        FingerprintImage.from_bytes(noise)
    gif = pillow_bytes(Image.fromarray(ridges()), "GIF")  # Pillow reads GIF; we do not
    with pytest.raises(InvalidImageError, match="not a supported format"):
        FingerprintImage.from_bytes(gif)


def test_from_bytes_requires_bytes():
    with pytest.raises(InvalidImageError, match="must be bytes, got str"):
        FingerprintImage.from_bytes("image.png")  # type: ignore[arg-type]


def test_paths(tmp_path):
    image = FingerprintImage.from_array(ridges(), dpi=1000)
    path = tmp_path / "print.png"
    path.write_bytes(image.encode("PNG"))
    assert FingerprintImage.from_path(path) == image
    assert load_image(str(path)) == image
    with pytest.raises(InvalidImageError, match="not found: .*missing.png"):
        FingerprintImage.from_path(tmp_path / "missing.png")
    with pytest.raises(InvalidImageError, match="is a directory"):
        FingerprintImage.from_path(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InvalidImageError, match="empty: .*empty.png"):
        FingerprintImage.from_path(tmp_path / "empty.png")
    (tmp_path / "cut.png").write_bytes(image.encode("PNG")[:300])
    with pytest.raises(InvalidImageError, match="cut.png"):
        FingerprintImage.from_path(tmp_path / "cut.png")
    with pytest.raises(InvalidImageError, match="cannot access image file"):
        FingerprintImage.from_path("bad\0name.png")
    with pytest.raises(InvalidImageError, match="must be str or os.PathLike"):
        FingerprintImage.from_path(42)  # type: ignore[arg-type]


def test_special_files_are_not_read(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "pipe")  # open() on it would block forever
    for path in (tmp_path / "pipe", Path("/dev/zero")):
        with pytest.raises(InvalidImageError, match="not a regular file"):
            FingerprintImage.from_path(path)


# -- load_image -----------------------------------------------------------------------------------

def test_load_image_dispatch(tmp_path):
    image = FingerprintImage.from_array(ridges(), dpi=1000)
    data = image.encode("TIFF")
    assert load_image(image) is image
    assert load_image(image, dpi=1000) is image
    assert load_image(image, dpi=500) == FingerprintImage.from_array(ridges(), dpi=500)
    assert load_image(ridges()).dpi == 500
    assert load_image(ridges(), dpi=1000) == image
    for source in (data, bytearray(data), memoryview(data)):
        assert load_image(source) == image
    (tmp_path / "a.tif").write_bytes(data)
    assert load_image(tmp_path / "a.tif", dpi=500).dpi == 500
    with pytest.raises(InvalidImageError, match="cannot load an image from a int"):
        load_image(42)
    with pytest.raises(InvalidImageError, match="cannot load an image from a list"):
        load_image([[0] * 64] * 64)


# -- at_dpi and encode ----------------------------------------------------------------------------

def test_at_dpi_resamples():
    image = FingerprintImage.from_array(ridges(200, 200), dpi=1000)
    half = image.at_dpi(500)
    assert half.shape == (100, 100) and half.dtype == np.uint8 and not half.flags.writeable
    assert abs(float(half.mean()) - float(image.pixels.mean())) < 3
    assert image.at_dpi(1000) is image.pixels
    up = FingerprintImage.from_array(np.full((100, 80), 90, np.uint8), dpi=250).at_dpi()
    assert up.shape == (200, 160) and set(up.ravel()) == {90}
    with pytest.raises(InvalidParameterError, match="target_dpi"):
        image.at_dpi(100)


def test_encode_options_and_errors():
    image = FingerprintImage.from_array(ridges())
    assert image.encode("jpg")[:2] == b"\xff\xd8" and image.encode("tif")[:2] == b"II"
    with pytest.raises(InvalidParameterError, match="format must be one of"):
        image.encode("GIF")
    with pytest.raises(InvalidParameterError, match="dpi from the image"):
        image.encode("PNG", dpi=(500, 500))
    with pytest.raises(InvalidParameterError, match="bitrate=0.75"):
        image.encode("WSQ", bitrate=2.25)
    with pytest.raises(InvalidParameterError, match="cannot encode as PNG"):
        image.encode("PNG", compress_level=99)
    assert image.encode("WSQ", bitrate=0.75) == image.encode("WSQ")


def test_errors_are_matcher_errors_and_value_errors():
    assert issubclass(InvalidImageError, MatcherError) and issubclass(InvalidImageError, ValueError)


# -- fuzzing --------------------------------------------------------------------------------------

SEEDS = {fmt: FingerprintImage.from_array(ridges(96, 80)).encode(fmt)
         for fmt in ["PNG", "TIFF", "JPEG", "BMP", "WSQ"] + (["JPEG2000"] if HAS_J2K else [])}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loads_or_rejects(data: bytes) -> None:
    try:
        image = FingerprintImage.from_bytes(data)
    except InvalidImageError:
        return
    assert image.pixels.dtype == np.uint8 and 250 <= image.dpi <= 1000


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt TIFF tags
@FUZZ
@given(st.one_of(st.binary(max_size=2000), st.binary(max_size=600).map(lambda b: b"\xff\xa0" + b)))
def test_arbitrary_bytes_load_or_raise_invalid_image(data):
    loads_or_rejects(data)


@pytest.mark.filterwarnings("ignore::UserWarning")
@FUZZ
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_corrupted_files_load_or_raise_invalid_image(fmt, draw):
    data = bytearray(SEEDS[fmt])
    for _ in range(draw.draw(st.integers(0, 8))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.integers(0, 255))
    loads_or_rejects(bytes(data[: draw.draw(st.integers(1, len(data)))]))
