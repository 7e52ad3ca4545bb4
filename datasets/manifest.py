"""CSV manifests: any set of images, listed one per row with who and which finger.

The first line is a header naming the columns, in any order and any case: ``path``,
``subject``, ``finger``, ``impression`` (required) and ``dpi`` (optional); other columns are
ignored. Relative paths are taken from the CSV file's folder. Example::

    path,subject,finger,impression,dpi
    alice/right_index_1.png,alice,right_index,1,500
    alice/right_index_2.png,alice,right_index,2,
    /data/bob/ri.wsq,bob,right_index,1,1000

An empty ``dpi`` cell lets the image's metadata decide. A malformed row raises
:class:`~datasets.errors.DatasetError` naming the file and the line.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from datasets.errors import DatasetError
from datasets.folders import Sample

__all__ = ["MANIFEST_COLUMNS", "iter_csv"]

#: Required columns of a manifest (``dpi`` is optional).
MANIFEST_COLUMNS = ("path", "subject", "finger", "impression")


def _header(row: list[str], where: str) -> dict[str, int]:
    """Column name -> index, from the header line ``row`` (``where`` = ``file:line``)."""
    names = [cell.strip().lower() for cell in row]
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in (*MANIFEST_COLUMNS, "dpi"):
            if name in columns:
                raise DatasetError(f"{where}: column {name!r} appears twice in the header")
            columns[name] = index
    missing = [name for name in MANIFEST_COLUMNS if name not in columns]
    if missing:
        raise DatasetError(f"{where}: the header must name the columns {', '.join(MANIFEST_COLUMNS)} "
                           f"(and optionally dpi); missing {', '.join(missing)} in {row!r}")
    return columns


def _integer(text: str, name: str, minimum: int, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise DatasetError(f"{where}: {name} must be an integer >= {minimum}, got {text!r}")
    return value


def iter_csv(manifest: str | os.PathLike[str], *, dpi: int | None = None) -> Iterator[Sample]:
    """The samples listed in a CSV manifest (module docstring), in the file's order.

    Parameters
    ----------
    manifest : str or path-like
        The CSV file (UTF-8, a byte-order mark allowed).
    dpi : int, optional
        Stored in every sample, replacing the ``dpi`` column.

    Yields
    ------
    Sample
        Blank lines are skipped.

    Raises
    ------
    DatasetError
        When the file cannot be read or has no header, and, naming the line, for a row with
        the wrong number of cells, an empty path, subject or finger, an impression that is not
        an integer >= 0, a dpi that is not an integer >= 1, a file that does not exist, or the
        same (subject, finger, impression) as an earlier row.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "a1.png").write_bytes(b"")
    ...     _ = (Path(tmp) / "set.csv").write_text("path,subject,finger,impression,dpi\\na1.png,ann,RI,1,\\n")
    ...     [(s.subject, s.finger, s.impression, s.path.name, s.dpi) for s in iter_csv(Path(tmp) / "set.csv")]
    [('ann', 'RI', 1, 'a1.png', None)]
    """
    manifest = Path(manifest)
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as file:
            rows = list(_rows(file, manifest, dpi))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read the manifest {manifest}: {exc}") from None
    yield from rows


def _rows(file: Iterator[str], manifest: Path, dpi: int | None) -> Iterator[Sample]:
    reader = csv.reader(file)
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise DatasetError(f"{manifest}: empty, expected a header line naming {', '.join(MANIFEST_COLUMNS)}")
    columns = _header(header, f"{manifest}:{reader.line_num}")
    seen: dict[tuple[str, str, int], int] = {}
    for row in reader:
        line = reader.line_num
        where = f"{manifest}:{line}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DatasetError(f"{where}: expected {len(header)} cells as in the header, got {len(row)}")
        cells = {name: row[index].strip() for name, index in columns.items()}
        for name in ("path", "subject", "finger"):
            if not cells[name]:
                raise DatasetError(f"{where}: empty {name}")
        impression = _integer(cells["impression"], "impression", 0, where)
        row_dpi = _integer(cells["dpi"], "dpi", 1, where) if cells.get("dpi") else None
        path = manifest.parent / cells["path"]
        if not path.is_file():
            raise DatasetError(f"{where}: no such image file {path}")
        key = (cells["subject"], cells["finger"], impression)
        if key in seen:
            raise DatasetError(f"{where}: subject {key[0]!r}, finger {key[1]!r}, impression {impression} "
                               f"already listed on line {seen[key]}")
        seen[key] = line
        yield Sample(subject=key[0], finger=key[1], impression=impression, path=path,
                     dpi=row_dpi if dpi is None else dpi)
