"""One entry point for every dataset layout: :func:`detect_layout` and :func:`iter_samples`.

Layouts (:data:`LAYOUTS`):

* ``"fvc"``: a folder of ``<finger>_<impression>.<ext>`` images (:func:`datasets.iter_fvc`);
* ``"socofing"``: the SOCOFing folder or its ``Real/`` folder (:func:`datasets.iter_socofing`);
* ``"csv"``: a CSV manifest file (:func:`datasets.iter_csv`);
* ``"synthetic"``: a set written by the synthetic generator, an FVC-style folder with a
  :data:`SYNTHETIC_MANIFEST` file next to the images (:func:`iter_synthetic`).

Every loader yields :class:`~datasets.folders.Sample` objects grouped by finger identity
(``(subject, finger)``), so genuine pairs are the pairs of one identity and impostor pairs the
pairs of two (``python -m benchmarks verify``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from datasets.errors import DatasetError
from datasets.folders import _FVC_NAME, Sample, find_image_sets, iter_fvc, list_images
from datasets.manifest import iter_csv
from datasets.socofing import _child, iter_socofing, parse_socofing_name
from matcher.errors import InvalidParameterError

__all__ = ["LAYOUTS", "SYNTHETIC_MANIFEST", "detect_layout", "group_by_identity", "iter_samples", "iter_synthetic",
           "synthetic_dpi"]

#: The dataset layouts :func:`iter_samples` reads.
LAYOUTS = ("fvc", "socofing", "csv", "synthetic")
#: The file the synthetic generator writes next to the images of a set.
SYNTHETIC_MANIFEST = "synthetic.json"
_PROBE_IMAGES = 100  # names looked at to recognise a folder's naming


def _named_mostly(folder: Path, parse: Callable[[str], object]) -> bool:
    """Whether most of the first images of ``folder`` are named as ``parse`` (a predicate) accepts."""
    images = list_images(folder)[:_PROBE_IMAGES]
    named = sum(bool(parse(p.name)) for p in images)
    return bool(images) and 2 * named > len(images)


def _is_socofing(folder: Path) -> bool:
    real = _child(folder, "Real")
    return _named_mostly(real if real is not None else folder, parse_socofing_name)


def _is_fvc(name: str) -> bool:
    return _FVC_NAME.fullmatch(Path(name).stem) is not None


def detect_layout(path: str | os.PathLike[str]) -> str:
    """The layout of a dataset path, one of :data:`LAYOUTS`.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` manifest; a folder holding :data:`SYNTHETIC_MANIFEST` (or a folder of such
        sets); a SOCOFing folder (with ``Real/``) or a folder of SOCOFing-named images; a folder
        of FVC-named images or a folder of such sets. The first 100 images of a folder decide,
        by the naming most of them follow.

    Returns
    -------
    str

    Raises
    ------
    DatasetError
        When ``path`` does not exist, is a file other than ``.csv``, or holds no images named
        in a known way.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "1__F_Right_ring_finger.BMP").write_bytes(b"")
    ...     detect_layout(tmp), detect_layout(Path(tmp) / "list.csv")
    ('socofing', 'csv')
    """
    path = Path(path)
    if path.suffix.lower() == ".csv" and not path.is_dir():
        return "csv"
    if not path.is_dir():
        raise DatasetError(f"no such folder or .csv manifest: {path}" if not path.exists()
                           else f"not a folder or a .csv manifest: {path}")
    if (path / SYNTHETIC_MANIFEST).is_file():
        return "synthetic"
    if _is_socofing(path):
        return "socofing"
    sets = find_image_sets(path)
    if sets and sets != [path] and all((s / SYNTHETIC_MANIFEST).is_file() for s in sets):
        return "synthetic"
    if any(_named_mostly(s, _is_fvc) for s in sets):
        return "fvc"
    raise DatasetError(f"cannot tell the layout of {path}: " +
                       ("no images in it or its sub-folders" if not sets else
                        "its images are named neither <finger>_<impression> (FVC) nor "
                        "<subject>__<M|F>_<hand>_<finger>_finger (SOCOFing)") +
                       f"; pass the layout, one of {', '.join(LAYOUTS)}")


def synthetic_dpi(folder: str | os.PathLike[str]) -> int | None:
    """The ``dpi`` recorded in a synthetic set's :data:`SYNTHETIC_MANIFEST`, if any.

    Raises
    ------
    DatasetError
        When the file is missing or is not a JSON object.
    """
    manifest = Path(folder) / SYNTHETIC_MANIFEST
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read {manifest}: {exc}") from None
    if not isinstance(meta, dict):
        raise DatasetError(f"{manifest}: expected a JSON object, got {type(meta).__name__}")
    dpi = meta.get("dpi")
    return dpi if isinstance(dpi, int) and not isinstance(dpi, bool) and dpi > 0 else None


def iter_synthetic(folder: str | os.PathLike[str], *, dpi: int | None = None) -> Iterator[Sample]:
    """The images of a synthetic set: :func:`datasets.iter_fvc` at the generator's dpi.

    Parameters
    ----------
    folder : str or path-like
        A folder written by the generator: FVC-named images and :data:`SYNTHETIC_MANIFEST`.
    dpi : int, optional
        Stored in every sample (default: the manifest's ``dpi``, else the images' metadata).

    Raises
    ------
    DatasetError
        When the folder has no readable :data:`SYNTHETIC_MANIFEST`.
    NotADirectoryError
        If ``folder`` is not a directory.
    """
    if not Path(folder).is_dir():
        raise NotADirectoryError(f"not a directory: {folder}")
    recorded = synthetic_dpi(folder)
    return iter_fvc(folder, dpi=recorded if dpi is None else dpi)


def iter_samples(path: str | os.PathLike[str], layout: str | None = None, *, dpi: int | None = None,
                 altered: bool = False) -> Iterator[Sample]:
    """The samples of one dataset, whatever its layout (module docstring).

    Parameters
    ----------
    path : str or path-like
        One image set: an FVC or synthetic folder (for a folder of sets, call this on each of
        :func:`datasets.find_image_sets`), a SOCOFing folder, or a CSV manifest.
    layout : {"fvc", "socofing", "csv", "synthetic"}, optional
        Default :func:`detect_layout`.
    dpi : int, optional
        Stored in every sample, replacing the layout's own (SOCOFing 500, the CSV's ``dpi``
        column, the synthetic manifest's); default ``None`` keeps those.
    altered : bool
        SOCOFing: also yield the altered images (default: real captures only). Other
        layouts ignore it.

    Yields
    ------
    Sample
        Grouped by :attr:`~datasets.folders.Sample.identity` for every layout but ``"csv"``,
        which keeps the manifest's order.

    Raises
    ------
    InvalidParameterError
        When ``layout`` is not one of :data:`LAYOUTS`.
    DatasetError
        When the layout cannot be detected, or from the loader (a malformed manifest...).
    NotADirectoryError
        When a folder layout is given a path that is not a folder.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("101_2.tif", "101_1.tif"):
    ...         _ = (Path(tmp) / name).write_bytes(b"")
    ...     [(s.identity, s.impression) for s in iter_samples(tmp)]
    [(('101', '101'), 1), (('101', '101'), 2)]
    """
    if layout is None:
        layout = detect_layout(path)
    if layout == "fvc":
        return iter_fvc(path, dpi=dpi)
    if layout == "socofing":
        return iter_socofing(path, altered=altered, dpi=dpi)
    if layout == "csv":
        return iter_csv(path, dpi=dpi)
    if layout == "synthetic":
        return iter_synthetic(path, dpi=dpi)
    raise InvalidParameterError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")


def group_by_identity(samples: Iterable[Sample]) -> list[Sample]:
    """``samples`` grouped by :attr:`~datasets.folders.Sample.identity`, the order verification needs.

    Parameters
    ----------
    samples : iterable of Sample

    Returns
    -------
    list of Sample
        Identities in the order they first appear; within one, by impression (stable).

    Examples
    --------
    >>> rows = [Sample("a", "RI", 2, Path("a2")), Sample("b", "RI", 1, Path("b1")),
    ...         Sample("a", "RI", 1, Path("a1"))]
    >>> [s.path.name for s in group_by_identity(rows)]
    ['a1', 'a2', 'b1']
    """
    groups: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.identity, []).append(sample)
    return [s for group in groups.values() for s in sorted(group, key=lambda s: s.impression)]
