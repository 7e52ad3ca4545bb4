"""Fingerprint images: decode, validate and resample grey-scale pixels with their resolution.

This is the only module of the library that decodes image formats. Everything it returns is
a :class:`FingerprintImage`: read-only ``uint8`` pixels indexed ``(row, col)`` plus ``dpi``.

Formats (Pillow's decoders, restricted to this list so no other parser sees the bytes):
TIFF, PNG, BMP, JPEG, JPEG 2000 (when Pillow was built with OpenJPEG) and WSQ (the FBI/NIST
wavelet compression for 500 ppi prints; the ``wsq`` package's Pillow plugin reads its header,
and its NBIS decoder runs in a child process because it crashes on some corrupt files).
The width and height are checked from the header before any pixel is decoded. Multi-frame
files give their first frame; EXIF orientation is not applied (scanners do not set it).

Pixel conversion, the same for decoded files and for arrays:

* colour is converted to luma (ITU-R BT.601, ``0.299 R + 0.587 G + 0.114 B``, as Pillow's
  ``"L"`` mode); transparent pixels are composited over white (the paper background);
* ``bool`` and bilevel images become 0 / 255;
* wider integers (16-bit files, ``uint16``/``int32``... arrays) are scaled by the effective bit
  depth of their values: with ``n`` the smallest bit count holding the maximum (at least 8),
  ``v * 255 / (2**n - 1)``, so 12-bit data in 16-bit containers is not left dark and nothing
  is clipped; negative values are rescaled by the min/max instead;
* floats in ``[0, 1]`` are multiplied by 255; other finite floats are rescaled by their min/max
  (a constant array is clipped to 0..255); NaN and infinity are rejected.

Resolution, in order: the explicit ``dpi=`` keyword (always wins), else the file's metadata
(TIFF resolution tags, PNG ``pHYs``, JPEG JFIF/EXIF density, BMP pixels per metre, JPEG 2000
``res`` box, the ``PPI`` line of a WSQ NISTCOM comment), else 500. Metadata below
:data:`MIN_METADATA_DPI` (150) is treated as a software placeholder and ignored: FVC2002 TIFFs
say 1 dpi, and 72 / 96 are screen defaults written by editors, never a scanner's resolution.
The result must lie in ``MIN_DPI..MAX_DPI`` (250..1000) after rounding to an integer.
"""

from __future__ import annotations

import io
import logging
import math
import numbers
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import wsq  # noqa: F401  (registers the WSQ plugin with Pillow)
from PIL import Image, UnidentifiedImageError, features
from skimage.transform import rescale

from matcher.errors import InvalidImageError, InvalidParameterError
from matcher.params import MAX_DPI, MIN_DPI, WORKING_DPI

__all__ = ["FingerprintImage", "load_image", "DEFAULT_DPI", "MIN_SIDE_PX", "MAX_SIDE_PX", "MIN_METADATA_DPI"]

log = logging.getLogger(__name__)

#: Smallest and largest accepted width or height, in pixels at the native resolution.
MIN_SIDE_PX = 64
MAX_SIDE_PX = 4000
#: Resolution metadata below this is a placeholder (1, 72, 96 dpi...) and is ignored.
MIN_METADATA_DPI = 150
#: Resolution assumed when neither ``dpi=`` nor usable metadata is given.
DEFAULT_DPI = 500
#: The only bitrate the ``wsq`` package encodes at (bits per pixel; it ignores any other).
WSQ_BITRATE = 0.75

_READ_FORMATS = ("TIFF", "PNG", "BMP", "JPEG", "WSQ") + (
    ("JPEG2000",) if features.check("jpg_2000") else ())
_WRITE_FORMATS = {"PNG": "PNG", "BMP": "BMP", "TIFF": "TIFF", "TIF": "TIFF", "JPEG": "JPEG",
                  "JPG": "JPEG", "JPEG2000": "JPEG2000", "JP2": "JPEG2000", "WSQ": "WSQ"}
#: Wall-clock limit of one WSQ decode (a 4000x4000 print takes about 2 s).
WSQ_DECODE_TIMEOUT_SECONDS = 60.0
# NBIS's WSQ decoder (inside the ``wsq`` package) segfaults on some corrupt or truncated
# files, so WSQ is decoded in a short-lived child interpreter (about 40 ms of overhead):
# a crash there becomes an InvalidImageError instead of killing the caller's process.
_WSQ_CHILD = """import sys, _wsq
try:
    pixels, width, height, ppi = _wsq.decompress(sys.stdin.buffer.read())
except Exception as exc:
    sys.stderr.write(str(exc)[-200:])
    sys.exit(3)
sys.stdout.buffer.write(b"%d %d %d\\n" % (width, height, ppi) + pixels)
"""
_LUMA = np.array([0.299, 0.587, 0.114])


#: File name suffixes of the image formats this module decodes (lower case).
IMAGE_SUFFIXES = frozenset({".tif", ".tiff", ".png", ".bmp", ".jpg", ".jpeg", ".jp2", ".wsq"})

@dataclass(frozen=True, eq=False, repr=False)
class FingerprintImage:
    """A grey-scale fingerprint image and its resolution, immutable.

    Parameters
    ----------
    pixels : array_like, shape (H, W) or (H, W, 3|4)
        Grey or RGB(A) pixels, any bool / integer / float dtype (converted as described in
        the module docstring). Stored as a read-only ``uint8`` copy of shape (H, W).
    dpi : int or float, default 500
        Resolution in dots per inch, 250..1000 (rounded to an integer).

    Raises
    ------
    InvalidImageError
        Wrong shape or dtype, NaN/infinite values, a side outside 64..4000 px, or dpi out of range.

    Examples
    --------
    >>> import numpy as np
    >>> image = FingerprintImage(np.zeros((120, 100), dtype=np.uint16), dpi=1000)
    >>> image.pixels.shape, image.pixels.dtype, image.width, image.height, image.dpi
    ((120, 100), dtype('uint8'), 100, 120, 1000)
    """

    pixels: npt.NDArray[np.uint8]
    dpi: int = DEFAULT_DPI

    def __post_init__(self) -> None:
        object.__setattr__(self, "pixels", _grey_uint8(self.pixels))
        object.__setattr__(self, "dpi", _checked_dpi(self.dpi, "dpi"))

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Number of rows."""
        return int(self.pixels.shape[0])

    def __repr__(self) -> str:
        return f"FingerprintImage(width={self.width}, height={self.height}, dpi={self.dpi})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FingerprintImage):
            return NotImplemented
        return self.dpi == other.dpi and np.array_equal(self.pixels, other.pixels)

    def __hash__(self) -> int:
        return hash((self.dpi, self.pixels.shape, self.pixels.tobytes()))

    @classmethod
    def from_array(cls, array: npt.ArrayLike, *, dpi: float = DEFAULT_DPI) -> FingerprintImage:
        """Make an image from a 2-D grey or 3-D (H, W, 3|4) colour array (copied).

        Examples
        --------
        >>> import numpy as np
        >>> rgb = np.ones((80, 90, 3), dtype=np.float32)
        >>> image = FingerprintImage.from_array(rgb)
        >>> image.pixels.shape, int(image.pixels.max()), image.dpi
        ((80, 90), 255, 500)
        """
        return cls(array, dpi=dpi)  # type: ignore[arg-type]

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, *, dpi: float | None = None
                   ) -> FingerprintImage:
        """Decode an encoded image (TIFF, PNG, BMP, JPEG, JPEG 2000 or WSQ).

        Parameters
        ----------
        data : bytes, bytearray or memoryview
            The whole file.
        dpi : int or float, optional
            Resolution; overrides the file's metadata. Default: metadata, else 500.

        Raises
        ------
        InvalidImageError
            Empty, truncated or unrecognised data, unsupported pixel mode, size outside
            64..4000 px per side (checked from the header, before decoding), dpi out of range.

        Examples
        --------
        >>> import numpy as np
        >>> png = FingerprintImage.from_array(np.full((64, 80), 200, np.uint8), dpi=1000).encode("PNG")
        >>> image = FingerprintImage.from_bytes(png)
        >>> image.pixels.shape, image.dpi
        ((64, 80), 1000)
        >>> FingerprintImage.from_bytes(png, dpi=500).dpi
        500
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidImageError(f"image data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if not data:
            raise InvalidImageError("image data is empty")
        return _decode(io.BytesIO(data), dpi=dpi, where="")

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, dpi: float | None = None) -> FingerprintImage:
        """Read and decode an image file; like :meth:`from_bytes`, errors name the path.

        Raises
        ------
        InvalidImageError
            Missing, unreadable, empty or non-regular file, or any :meth:`from_bytes` error.

        Examples
        --------
        >>> FingerprintImage.from_path("/no/such/file.png")
        Traceback (most recent call last):
        ...
        matcher.errors.InvalidImageError: image file not found: /no/such/file.png
        """
        try:
            name = os.fspath(path)
        except TypeError:
            raise InvalidImageError(f"image path must be str or os.PathLike, got {type(path).__name__}") from None
        try:
            info = os.stat(name)  # before open(): opening a FIFO would block
        except FileNotFoundError:
            raise InvalidImageError(f"image file not found: {name}") from None
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            raise InvalidImageError(f"cannot access image file {name!r}: "
                                    f"{getattr(exc, 'strerror', None) or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            raise InvalidImageError(f"image path is a directory: {name}")
        if not stat.S_ISREG(info.st_mode):
            raise InvalidImageError(f"image path is not a regular file: {name}")
        if info.st_size == 0:
            raise InvalidImageError(f"image file is empty: {name}")
        try:
            file = open(name, "rb")
        except OSError as exc:
            raise InvalidImageError(f"cannot open image file {name}: {exc.strerror or exc}") from None
        with file:
            return _decode(file, dpi=dpi, where=f" ({name})")

    def at_dpi(self, target_dpi: float = WORKING_DPI) -> npt.NDArray[np.uint8]:
        """Pixels resampled to ``target_dpi`` (read-only ``uint8``, shape scaled by target/dpi).

        Bilinear interpolation, Gaussian anti-aliasing when downscaling
        (``skimage.transform.rescale``). When ``target_dpi == dpi`` the stored array itself is
        returned. The result is not checked against the 64..4000 px limits.

        Raises
        ------
        InvalidParameterError
            ``target_dpi`` outside 250..1000.

        Examples
        --------
        >>> import numpy as np
        >>> image = FingerprintImage.from_array(np.zeros((200, 300), np.uint8), dpi=1000)
        >>> image.at_dpi(500).shape
        (100, 150)
        >>> image.at_dpi(1000) is image.pixels
        True
        """
        try:
            target = _checked_dpi(target_dpi, "target_dpi")
        except InvalidImageError as exc:
            raise InvalidParameterError(str(exc)) from None
        if target == self.dpi:
            return self.pixels
        scale = target / self.dpi
        resampled = rescale(self.pixels.astype(np.float32), scale, order=1, mode="reflect",
                            anti_aliasing=scale < 1.0, preserve_range=True)
        result = np.clip(np.rint(resampled), 0, 255).astype(np.uint8)
        result.flags.writeable = False
        return result

    def encode(self, format: str = "PNG", **options: Any) -> bytes:
        """Encode as PNG, BMP, TIFF, JPEG, JPEG2000 or WSQ, with the dpi where the format allows.

        Parameters
        ----------
        format : str
            Case-insensitive; ``JPG``, ``TIF`` and ``JP2`` are accepted aliases.
        **options
            Passed to Pillow's ``Image.save`` (e.g. ``quality=90`` for JPEG). WSQ takes only
            ``bitrate``, which must be 0.75 (the only rate the ``wsq`` package encodes at).

        Notes
        -----
        dpi is written as TIFF resolution tags, PNG ``pHYs``, JPEG JFIF density, BMP pixels
        per metre and the WSQ NISTCOM ``PPI`` line; Pillow writes none for JPEG 2000.
        PNG, BMP, TIFF and (default) JPEG 2000 are lossless; JPEG and WSQ are lossy.

        Raises
        ------
        InvalidParameterError
            Unknown format, a ``dpi`` option, an unsupported WSQ bitrate, or options Pillow refuses.

        Examples
        --------
        >>> import numpy as np
        >>> image = FingerprintImage.from_array(np.full((64, 64), 128, np.uint8))
        >>> image.encode("PNG")[:4]
        b'\\x89PNG'
        >>> image.encode("WSQ")[:2]
        b'\\xff\\xa0'
        """
        fmt = _WRITE_FORMATS.get(str(format).upper())
        if fmt is None or (fmt == "JPEG2000" and "JPEG2000" not in _READ_FORMATS):
            raise InvalidParameterError(f"format must be one of {sorted(set(_WRITE_FORMATS.values()))}, "
                                        f"got {format!r}")
        if "dpi" in options:
            raise InvalidParameterError("encode() takes the dpi from the image; make a FingerprintImage "
                                        "with the wanted dpi instead")
        if fmt == "WSQ":
            bitrate = options.pop("bitrate", WSQ_BITRATE)
            if bitrate != WSQ_BITRATE or options:
                raise InvalidParameterError(f"WSQ encoding takes only bitrate={WSQ_BITRATE}, got "
                                            f"bitrate={bitrate!r} and options {sorted(options)}")
        elif fmt != "JPEG2000":
            options["dpi"] = (self.dpi, self.dpi)
        buffer = io.BytesIO()
        try:
            Image.fromarray(np.ascontiguousarray(self.pixels)).save(buffer, format=fmt, **options)
        except Exception as exc:  # Pillow raises many types for bad options
            raise InvalidParameterError(f"cannot encode as {fmt} with options {sorted(options)}: "
                                        f"{_describe(exc)}") from None
        data = buffer.getvalue()
        return _wsq_with_ppi(data, self.dpi) if fmt == "WSQ" else data


def load_image(source: Any, *, dpi: float | None = None) -> FingerprintImage:
    """Load an image from whatever the caller has.

    Parameters
    ----------
    source : FingerprintImage, numpy.ndarray, bytes, bytearray, memoryview, str or os.PathLike
        An image (returned as is, or relabelled when ``dpi`` differs), an array
        (:meth:`FingerprintImage.from_array`, dpi default 500), encoded bytes
        (:meth:`FingerprintImage.from_bytes`) or a file path (:meth:`FingerprintImage.from_path`).
    dpi : int or float, optional
        Resolution; overrides metadata and an existing image's dpi.

    Raises
    ------
    InvalidImageError
        For an unsupported source type and every error of the constructors above.

    Examples
    --------
    >>> import numpy as np
    >>> image = load_image(np.zeros((64, 64), np.uint8), dpi=1000)
    >>> load_image(image) is image, load_image(image.encode("TIFF")) == image
    (True, True)
    """
    if isinstance(source, FingerprintImage):
        if dpi is None or _checked_dpi(dpi, "dpi") == source.dpi:
            return source
        return FingerprintImage(source.pixels, dpi=dpi)
    if isinstance(source, np.ndarray):
        return FingerprintImage.from_array(source, dpi=DEFAULT_DPI if dpi is None else dpi)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return FingerprintImage.from_bytes(source, dpi=dpi)
    if isinstance(source, (str, os.PathLike)):
        return FingerprintImage.from_path(source, dpi=dpi)
    raise InvalidImageError("cannot load an image from a "
                            f"{type(source).__name__}; pass an array, bytes or a path")


def _decode(file: IO[bytes], *, dpi: float | None, where: str) -> FingerprintImage:
    explicit_dpi = None if dpi is None else _checked_dpi(dpi, "dpi")
    try:
        opened = Image.open(file, formats=_READ_FORMATS)
    except Image.DecompressionBombError as exc:
        raise InvalidImageError(f"image{where} is too large to decode: {exc}") from None
    except UnidentifiedImageError:
        raise InvalidImageError(f"image data{where} is not a supported format "
                                f"({', '.join(_READ_FORMATS)})") from None
    except Exception as exc:  # plugins raise OSError, ValueError, struct.error... on bad headers
        raise InvalidImageError(f"corrupt or truncated image header{where}: {_describe(exc)}") from None
    with opened as image:
        fmt = image.format or "image"
        _check_size(image.size[0], image.size[1], where)  # header only: nothing decoded yet
        try:
            if fmt == "WSQ":
                file.seek(0)
                pixels, metadata = _decode_wsq(file.read(), image.size)
            else:
                image.load()
                pixels, metadata = _pil_pixels(image), image.info.get("dpi")
        except InvalidImageError as exc:
            raise InvalidImageError(f"{exc}{where}") from None
        except Exception as exc:  # decoders raise OSError, ValueError, SyntaxError, Exception...
            raise InvalidImageError(f"corrupt or truncated {fmt} data{where}: {_describe(exc)}") from None
    if explicit_dpi is None:
        explicit_dpi = _metadata_dpi(metadata, where)
    try:
        return FingerprintImage(pixels, dpi=explicit_dpi)
    except InvalidImageError as exc:
        raise InvalidImageError(f"{exc}{where}") from None


def _decode_wsq(data: bytes, size: tuple[int, int]) -> tuple[np.ndarray, int | None]:
    """Pixels and NISTCOM ``PPI`` (``None`` when -1, unknown) of WSQ data, decoded by NBIS."""
    try:
        child = subprocess.run([sys.executable, "-I", "-c", _WSQ_CHILD], input=data,
                               capture_output=True, timeout=WSQ_DECODE_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise InvalidImageError(f"WSQ decoding took over {WSQ_DECODE_TIMEOUT_SECONDS:g} s") from None
    except OSError as exc:
        raise InvalidImageError(f"cannot start the WSQ decoder: {_describe(exc)}") from None
    if child.returncode < 0:
        raise InvalidImageError(f"corrupt or truncated WSQ data: the decoder crashed (signal {-child.returncode})")
    if child.returncode != 0:
        messages = child.stderr.decode("ascii", "replace").strip().splitlines()
        reason = messages[-1] if messages else f"exit status {child.returncode}"
        raise InvalidImageError(f"corrupt or truncated WSQ data: {reason}")
    head, _, body = child.stdout.partition(b"\n")
    width, height, ppi = (int(v) for v in head.split())
    if (width, height) != size or len(body) != width * height:
        raise InvalidImageError(f"corrupt WSQ data: frame header says {size[0]}x{size[1]} px, "
                                f"decoded {width}x{height}")
    pixels = np.frombuffer(body, dtype=np.uint8).reshape(height, width)
    return pixels, (ppi if ppi > 0 else None)


def _pil_pixels(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("L", "1", "RGB", "RGBA", "I", "F") or mode.startswith("I;16"):
        return np.asarray(image)
    if mode in ("P", "PA", "LA", "La", "RGBa"):
        return np.asarray(image.convert("RGBA"))
    try:
        return np.asarray(image.convert("RGB"))
    except (ValueError, OSError):
        raise InvalidImageError(f"unsupported pixel mode {mode!r}") from None


def _grey_uint8(values: Any) -> npt.NDArray[np.uint8]:
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested lists, odd objects
        raise InvalidImageError(f"image pixels cannot be converted to an array: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise InvalidImageError(f"image array dtype must be bool, integer or float, got {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InvalidImageError("image array must be (H, W) grey or (H, W, 3|4) colour, "
                                f"got shape {array.shape}")
    _check_size(array.shape[1], array.shape[0], "")
    if array.dtype == np.uint8:
        grey = array
    elif array.dtype.kind == "b":
        grey = array.astype(np.uint8) * np.uint8(255)
    elif array.dtype.kind == "f":
        grey = _floats_to_uint8(array)
    else:
        grey = _integers_to_uint8(array)
    if grey.ndim == 3:
        luma = grey[:, :, :3] @ _LUMA
        if grey.shape[2] == 4:  # composite over white
            alpha = grey[:, :, 3] / 255.0
            luma = luma * alpha + 255.0 * (1.0 - alpha)
        grey = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    result = np.array(grey, dtype=np.uint8, order="C", copy=True)
    result.flags.writeable = False
    return result


def _integers_to_uint8(array: np.ndarray) -> np.ndarray:
    low, high = int(array.min()), int(array.max())
    if low >= 0 and high <= 255:
        return array.astype(np.uint8)
    if low >= 0:  # effective bit depth of the values (12-bit data in uint16 is common)
        full_scale = (1 << high.bit_length()) - 1
        return np.rint(array * (255.0 / full_scale)).astype(np.uint8)
    return np.rint((array - float(low)) * (255.0 / (high - low))).astype(np.uint8)


def _floats_to_uint8(array: np.ndarray) -> np.ndarray:
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise InvalidImageError("image array contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if 0.0 <= low and high <= 1.0:
        return np.rint(values * 255.0).astype(np.uint8)
    if high > low:
        return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _check_size(width: int, height: int, where: str) -> None:
    if not (MIN_SIDE_PX <= width <= MAX_SIDE_PX and MIN_SIDE_PX <= height <= MAX_SIDE_PX):
        raise InvalidImageError(f"image size {width}x{height} px{where} is outside "
                                f"{MIN_SIDE_PX}..{MAX_SIDE_PX} px per side")


def _checked_dpi(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidImageError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidImageError(f"{name} must be finite, got {value!r}")
    dpi = math.floor(float(value) + 0.5)
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise InvalidImageError(f"{name} must be in {MIN_DPI}..{MAX_DPI}, got {value!r}")
    return dpi


def _metadata_dpi(metadata: Any, where: str) -> int:
    """The file's resolution, or :data:`DEFAULT_DPI` when absent or a placeholder."""
    pair = metadata if isinstance(metadata, tuple) else (metadata, metadata)
    if len(pair) != 2 or not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in pair):
        return DEFAULT_DPI
    x_dpi, y_dpi = (float(v) for v in pair)
    if min(x_dpi, y_dpi) < MIN_METADATA_DPI:
        log.debug("ignoring placeholder resolution %s dpi%s", metadata, where)
        return DEFAULT_DPI
    if abs(x_dpi - y_dpi) > 1.0:
        raise InvalidImageError(f"image metadata{where} gives non-square pixels ({x_dpi:g} x "
                                f"{y_dpi:g} dpi); pass dpi= to override")
    try:
        return _checked_dpi(x_dpi, "dpi")
    except InvalidImageError:
        raise InvalidImageError(f"image metadata{where} says {x_dpi:g} dpi, outside "
                                f"{MIN_DPI}..{MAX_DPI}; pass dpi= to override") from None


def _wsq_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each length-prefixed WSQ header segment before the frame (FFA2/FFA3)."""
    segments, pos = [], 2  # after SOI (FFA0)
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xA2, 0xA3):
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            break
        segments.append((pos, pos + 2 + length))
        pos += 2 + length
    return segments


def _wsq_with_ppi(data: bytes, ppi: int) -> bytes:
    """Rewrite the NISTCOM ``PPI`` line (the ``wsq`` package always writes 500)."""
    for start, end in _wsq_segments(data):
        text = data[start + 4:end]
        if data[start + 1] == 0xA8 and text.startswith(b"NIST_COM"):
            lines = [b"PPI %d" % ppi if line.startswith(b"PPI ") else line for line in text.split(b"\n")]
            body = b"\n".join(lines)
            return data[:start] + b"\xff\xa8" + (len(body) + 2).to_bytes(2, "big") + body + data[end:]
    return data


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
