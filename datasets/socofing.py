"""SOCOFing, the Sokoto Coventry Fingerprint Dataset (Shehu et al., arXiv:1807.10609, 2018).

600 African subjects, ten fingers each, one 500 dpi capture per finger (``Real/``), plus
synthetic alterations of those captures at three levels (``Altered/Altered-Easy``,
``Altered-Medium``, ``Altered-Hard``), each of three kinds: obliteration (``Obl``), central
rotation (``CR``) and z-cut (``Zcut``). Files are named
``<subject>__<M|F>_<Left|Right>_<finger>_finger[_CR|_Obl|_Zcut].BMP``, for example
``1__M_Left_index_finger.BMP`` and ``1__M_Left_index_finger_CR.BMP``.

A :class:`~datasets.folders.Sample` of SOCOFing has ``subject`` the number (``"1"``), ``finger``
``<Left|Right>_<finger>`` (``"Left_index"``, see :func:`socofing_position`), impression 1 for
the real capture and 2 .. 10 for the altered ones, in the order of :data:`SOCOFING_ALTERATIONS`,
and ``alteration`` that entry (``None`` for the real capture).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from datasets.errors import DatasetError
from datasets.folders import Sample, _natural_key, list_images
from matcher.template import FingerPosition

__all__ = ["SOCOFING_DPI", "SOCOFING_ALTERATIONS", "iter_socofing", "parse_socofing_name",
           "socofing_position"]

log = logging.getLogger(__name__)

#: Resolution of every SOCOFing image (Hamster Plus sensor, 500 dpi).
SOCOFING_DPI = 500
#: Altered impressions, ``"<level>/<kind>"``; impression number = 2 + index (real = 1).
SOCOFING_ALTERATIONS = tuple(f"{level}/{kind}" for level in ("Easy", "Medium", "Hard")
                             for kind in ("CR", "Obl", "Zcut"))
_LEVELS = {"easy": "Easy", "medium": "Medium", "hard": "Hard"}
_KINDS = {"cr": "CR", "obl": "Obl", "zcut": "Zcut"}
_FINGERS = ("thumb", "index", "middle", "ring", "little")
_NAME = re.compile(r"(?P<subject>[0-9]+)__(?P<sex>[MF])_(?P<hand>left|right)_"
                   r"(?P<finger>thumb|index|middle|ring|little)_finger(?:_(?P<kind>cr|obl|zcut))?",
                   re.IGNORECASE)
_ALTERED_FOLDER = re.compile(r"altered[-_ ]?(easy|medium|hard)", re.IGNORECASE)


def parse_socofing_name(name: str) -> tuple[str, str, str | None] | None:
    """``(subject, finger, kind)`` of a SOCOFing file name, or ``None`` when it is not one.

    Parameters
    ----------
    name : str
        A file name or stem, any case (``"12__F_Right_thumb_finger_Zcut.BMP"``).

    Returns
    -------
    tuple of (str, str, str or None), or None
        Subject without leading zeros, finger as ``"<Left|Right>_<finger>"`` and the alteration
        kind (``"CR"``, ``"Obl"``, ``"Zcut"``; ``None`` for a real capture).

    Examples
    --------
    >>> parse_socofing_name("12__F_Right_thumb_finger_Zcut.BMP")
    ('12', 'Right_thumb', 'Zcut')
    >>> parse_socofing_name("1__M_Left_index_finger.BMP"), parse_socofing_name("101_1.tif")
    (('1', 'Left_index', None), None)
    """
    match = _NAME.fullmatch(Path(name).stem)
    if match is None:
        return None
    finger = f"{match['hand'].capitalize()}_{match['finger'].lower()}"
    kind = _KINDS[match["kind"].lower()] if match["kind"] else None
    return str(int(match["subject"])), finger, kind


def socofing_position(finger: str) -> FingerPosition:
    """The ISO/IEC 19794-2 finger position code of a SOCOFing finger (``"Left_index"``).

    Raises
    ------
    DatasetError
        When ``finger`` is not ``<Left|Right>_<thumb|index|middle|ring|little>``.

    Examples
    --------
    >>> int(socofing_position("Right_thumb")), int(socofing_position("Left_little"))
    (1, 10)
    """
    try:
        return FingerPosition[finger.upper()]
    except KeyError:
        raise DatasetError(f"not a SOCOFing finger: {finger!r} (expected e.g. 'Left_index')") from None


def _child(folder: Path, name: str) -> Path | None:
    """The sub-folder of ``folder`` named ``name``, any case."""
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.lower() == name.lower()] \
        if folder.is_dir() else []
    return found[0] if found else None


def _folders(root: Path, altered: bool) -> list[tuple[Path, str | None]]:
    """``(folder, level)`` pairs to read: ``Real/`` (level ``None``) and the ``Altered-*`` ones."""
    real = _child(root, "Real")
    if real is None:  # root is Real/ or one Altered-<level>/ itself
        level = _ALTERED_FOLDER.fullmatch(root.name)
        return [(root, _LEVELS[level[1].lower()] if level else None)]
    folders: list[tuple[Path, str | None]] = [(real, None)]
    altered_root = _child(root, "Altered")
    if altered and altered_root is not None:
        for sub in sorted(altered_root.iterdir(), key=lambda p: _natural_key(p.name)):
            level = _ALTERED_FOLDER.fullmatch(sub.name)
            if sub.is_dir() and level:
                folders.append((sub, _LEVELS[level[1].lower()]))
    return folders


def iter_socofing(root: str | os.PathLike[str], *, altered: bool = False,
                  dpi: int | None = None) -> Iterator[Sample]:
    """The images of a SOCOFing folder, by subject, finger (ISO position order), impression.

    Parameters
    ----------
    root : str or path-like
        The SOCOFing folder (holding ``Real/`` and optionally ``Altered/Altered-<level>/``), or
        one of those image folders itself.
    altered : bool
        Also yield the altered images, as impressions 2 .. 10 (default: real captures only).
    dpi : int, optional
        Stored in every sample (default :data:`SOCOFING_DPI`).

    Yields
    ------
    Sample
        Files not named the SOCOFing way are skipped with a logged warning; an altered image
        outside an ``Altered-<level>`` folder too.

    Raises
    ------
    NotADirectoryError
        If ``root`` is not a directory.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for folder, name in [("Real", "1__M_Left_index_finger.BMP"),
    ...                          ("Altered/Altered-Hard", "1__M_Left_index_finger_CR.BMP")]:
    ...         (Path(tmp) / folder).mkdir(parents=True)
    ...         _ = (Path(tmp) / folder / name).write_bytes(b"")
    ...     [(s.subject, s.finger, s.impression, s.alteration) for s in iter_socofing(tmp, altered=True)]
    [('1', 'Left_index', 1, None), ('1', 'Left_index', 8, 'Hard/CR')]
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    samples = []
    for folder, level in _folders(root, altered):
        for path in list_images(folder):
            parsed = parse_socofing_name(path.name)
            if parsed is None:
                log.warning("skipping %s: not named <subject>__<M|F>_<Left|Right>_<finger>_finger", path)
                continue
            subject, finger, kind = parsed
            if kind is None:
                impression, alteration = 1, None
            elif level is None:
                log.warning("skipping %s: an altered image outside an Altered-<level> folder", path)
                continue
            elif not altered:
                continue
            else:
                alteration = f"{level}/{kind}"
                impression = 2 + SOCOFING_ALTERATIONS.index(alteration)
            samples.append(Sample(subject=subject, finger=finger, impression=impression, path=path,
                                  dpi=SOCOFING_DPI if dpi is None else dpi, alteration=alteration))
    samples.sort(key=lambda s: (int(s.subject), int(socofing_position(s.finger)), s.impression))
    yield from samples
