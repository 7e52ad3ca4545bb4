"""Folders of fingerprint images named the FVC way: ``<finger>_<impression>.<ext>``.

The Fingerprint Verification Competitions (FVC2000, FVC2002, FVC2004, FVC2006) distribute
each database as one folder of files such as ``101_1.tif`` ... ``110_8.tif``: the part before
the last ``_`` names the finger, the number after it the impression. FVC does not say which
fingers belong to one person, so a :class:`Sample`'s ``subject`` is its finger.

Resolution: the FVC protocol passes every image to the algorithm as 500 dpi, whatever the
sensor's native resolution, so :func:`iter_fvc` sets no dpi unless asked (the images' own
metadata, a 1 dpi placeholder in FVC2002, then gives 500). :data:`FVC_NATIVE_DPI` lists the
sensors' resolutions for reports only.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from datasets.errors import DatasetError
from matcher.image import IMAGE_SUFFIXES, FingerprintImage, load_image

__all__ = ["FVC_NATIVE_DPI", "IMAGE_SUFFIXES", "Sample", "find_image_sets", "fvc_native_dpi",
           "iter_fvc", "list_images"]

log = logging.getLogger(__name__)

#: Native sensor resolution of each FVC database, ``(year, "dbN") -> dpi``, from the
#: competitions' reports and database pages (bias.csr.unibo.it): Maio et al., "FVC2000:
#: Fingerprint Verification Competition", IEEE TPAMI 24(3), 2002 (DB1 low-cost optical 300x300,
#: DB2 capacitive 256x364, DB3 optical 448x478: 500 dpi); "FVC2002: Second Fingerprint
#: Verification Competition", ICPR 2002 (DB1 optical 500, DB2 optical 569, DB3 capacitive 500);
#: "FVC2004: Third Fingerprint Verification Competition", ICBA 2004 (DB1, DB2 optical 500, DB3
#: thermal sweeping 512); Cappelli et al., "Fingerprint Verification Competition 2006",
#: Biometric Technology Today 15(7-8), 2007 (DB1 electric field 96x96 at 250, DB2 optical
#: 400x560 at 569, DB3 thermal sweeping 400x500 at 500). Every DB4 is synthetic (SFinGe),
#: "about 500 dpi".
FVC_NATIVE_DPI: dict[tuple[int, str], int] = {
    (2000, "db1"): 500, (2000, "db2"): 500, (2000, "db3"): 500, (2000, "db4"): 500,
    (2002, "db1"): 500, (2002, "db2"): 569, (2002, "db3"): 500, (2002, "db4"): 500,
    (2004, "db1"): 500, (2004, "db2"): 500, (2004, "db3"): 512, (2004, "db4"): 500,
    (2006, "db1"): 250, (2006, "db2"): 569, (2006, "db3"): 500, (2006, "db4"): 500,
}

_FVC_NAME = re.compile(r"(?P<finger>.+)_(?P<impression>[0-9]+)")
_YEAR = re.compile(r"fvc[-_ ]?(2000|2002|2004|2006)", re.IGNORECASE)
_DATABASE = re.compile(r"(db[1-4])(?:_[ab])?", re.IGNORECASE)
_DIGITS = re.compile(r"([0-9]+)")


@dataclass(frozen=True)
class Sample:
    """One image of a dataset: who, which finger, which impression, where its pixels are.

    Parameters
    ----------
    subject : str
        Who gave the print (for FVC, the finger: FVC does not link fingers to people).
    finger : str
        Finger identifier, unique within the subject (``"101"`` in FVC, ``"Left_index"`` in
        SOCOFing); :attr:`identity` names the finger within the dataset.
    impression : int
        Impression number of this finger (``1`` .. ``8`` in FVC).
    path : Path or None
        The image file; ``None`` only for a sample held in memory (``image``).
    dpi : int or None
        Resolution to pass to :func:`matcher.image.load_image`; ``None`` lets the image's
        metadata decide (500 when it has none).
    image : ndarray of uint8, shape (rows, cols), optional
        The pixels, for a sample that has no file (not compared by ``==``).
    alteration : str or None
        How the print was altered, for sets that hold altered prints (SOCOFing: ``"Easy/CR"``);
        ``None`` for a genuine capture.

    Raises
    ------
    DatasetError
        When neither ``path`` nor ``image`` is given.

    Examples
    --------
    >>> Sample("7", "Left_index", 1, Path("7__M_Left_index_finger.BMP"), dpi=500).identity
    ('7', 'Left_index')
    >>> Sample("1", "1", 1, None, image=np.zeros((64, 64), np.uint8)).load().dpi
    500
    """

    subject: str
    finger: str
    impression: int
    path: Path | None
    dpi: int | None = None
    image: npt.NDArray[np.uint8] | None = field(default=None, compare=False, repr=False)
    alteration: str | None = None

    def __post_init__(self) -> None:
        if self.path is None and self.image is None:
            raise DatasetError(f"sample {self.subject}/{self.finger}/{self.impression} has neither a path "
                               "nor an image")

    @property
    def identity(self) -> tuple[str, str]:
        """``(subject, finger)``: the finger within the dataset, what genuine pairs share."""
        return self.subject, self.finger

    def load(self) -> FingerprintImage:
        """The image (:func:`matcher.image.load_image` of ``image`` or ``path``, at ``dpi``)."""
        return load_image(self.image if self.image is not None else self.path, dpi=self.dpi)


def _natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sort key ordering embedded numbers by value (``"2" < "10"``, ``"a_2" < "a_10"``)."""
    return tuple((int(part), "") if i % 2 else (0, part) for i, part in enumerate(_DIGITS.split(text)))


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder`` (not recursive), in natural name order.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of Path
        Regular, non-hidden files whose suffix is in :data:`IMAGE_SUFFIXES` (any case).

    Raises
    ------
    NotADirectoryError
        If ``folder`` is not a directory.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("10_1.tif", "2_1.PNG", "notes.txt"):
    ...         _ = (Path(tmp) / name).write_bytes(b"")
    ...     [p.name for p in list_images(tmp)]
    ['2_1.PNG', '10_1.tif']
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    images = [p for p in root.iterdir()
              if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    return sorted(images, key=lambda p: _natural_key(p.name))


def iter_fvc(folder: str | os.PathLike[str], *, dpi: int | None = None) -> Iterator[Sample]:
    """The images of an FVC-style folder, by finger then impression.

    Parameters
    ----------
    folder : str or path-like
        A folder of files named ``<finger>_<impression>.<ext>``: the finger is everything
        before the last ``_`` (it may contain ``_`` itself), the impression a decimal number;
        ``ext`` is one of :data:`IMAGE_SUFFIXES`, any case. Other image files are skipped
        with a logged warning; non-image files and sub-folders are ignored.
    dpi : int, optional
        Stored in every :class:`Sample` (default ``None``: the images' metadata, else 500).

    Yields
    ------
    Sample
        Fingers in natural order (``"9"`` before ``"10"``), impressions ascending.

    Raises
    ------
    NotADirectoryError
        If ``folder`` is not a directory.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("a_b_3.tif", "a_b_1.tif", "scan.png"):
    ...         _ = (Path(tmp) / name).write_bytes(b"")
    ...     [(s.finger, s.impression) for s in iter_fvc(tmp)]
    [('a_b', 1), ('a_b', 3)]
    """
    samples = []
    for path in list_images(folder):
        match = _FVC_NAME.fullmatch(path.stem)
        if match is None:
            log.warning("skipping %s: not named <finger>_<impression>.<ext>", path)
            continue
        finger = match["finger"]
        samples.append(Sample(subject=finger, finger=finger, impression=int(match["impression"]),
                              path=path, dpi=dpi))
    samples.sort(key=lambda s: (_natural_key(s.finger), s.impression, s.path.name))
    yield from samples


def find_image_sets(root: str | os.PathLike[str]) -> list[Path]:
    """The image sets under ``root``: ``root`` itself if it holds images, else its sub-folders that do.

    Parameters
    ----------
    root : str or path-like
        One set (``fvc2002/db1_b``) or a folder of sets (``fvc2002``).

    Returns
    -------
    list of Path
        ``[root]``, or the immediate sub-folders holding images in natural order (empty when
        there are none; deeper folders are not searched).

    Raises
    ------
    NotADirectoryError
        If ``root`` is not a directory.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("db2_b", "db1_b", "empty"):
    ...         (Path(tmp) / name).mkdir()
    ...     _ = (Path(tmp) / "db1_b" / "101_1.tif").write_bytes(b"")
    ...     _ = (Path(tmp) / "db2_b" / "101_1.tif").write_bytes(b"")
    ...     [p.name for p in find_image_sets(tmp)]
    ['db1_b', 'db2_b']
    """
    root = Path(root)
    if list_images(root):
        return [root]
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: _natural_key(p.name))
    return [p for p in folders if list_images(p)]


def fvc_native_dpi(folder: str | os.PathLike[str]) -> int | None:
    """The sensor resolution of an FVC database folder, guessed from its path (for reports).

    Parameters
    ----------
    folder : str or path-like
        A path whose last part is ``dbN``/``dbN_a``/``dbN_b`` below a part naming the year
        (``fvc2002``, ``FVC-2004``...).

    Returns
    -------
    int or None
        From :data:`FVC_NATIVE_DPI`; ``None`` when the path names no FVC database.

    Examples
    --------
    >>> fvc_native_dpi("/data/fvc2002/db2_b"), fvc_native_dpi("/data/scans")
    (569, None)
    """
    path = Path(folder)
    database = _DATABASE.fullmatch(path.name)
    years = [m[1] for part in path.parts[:-1] for m in _YEAR.finditer(part)]
    if database is None or not years:
        return None
    return FVC_NATIVE_DPI.get((int(years[-1]), database[1].lower()))
