"""Stored fingers as columns: what a gallery file of version 3 maps, and what the writer is given.

``n`` subjects hold ``m`` fingers holding ``k`` minutiae in all. Subject ``s`` holds fingers
``finger_start[s] : finger_start[s + 1]`` (in position order); finger ``f`` holds minutiae
``minutia_start[f] : minutia_start[f + 1]``. Per finger: ``position``, ``row`` and the template's
``width``, ``height``, ``dpi``, ``image_quality``; per minutia the template's ``x``, ``y``,
``angle``, ``kind``, ``quality`` (the dtypes of :class:`~matcher.template.Template`).

:class:`Columns` holds them as read-only arrays (views of the mapped file) and makes a finger's
:class:`~matcher.template.Template` only when asked (:mod:`matcher.index.store_check` verified
every invariant a Template holds when the file was loaded); :class:`Snapshot` gathers them for
the writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.template import Template

__all__ = ["FINGER_COLUMNS", "MINUTIA_COLUMNS", "Columns", "LazyTemplates", "Snapshot"]

#: Per-finger columns after the two offset arrays, in file order: (name, little-endian dtype).
FINGER_COLUMNS = (("position", "u1"), ("row", "<i8"), ("width", "<u2"), ("height", "<u2"), ("dpi", "<u2"),
                  ("image_quality", "u1"))
#: Per-minutia columns, in file order (Template's dtypes).
MINUTIA_COLUMNS = (("x", "<i2"), ("y", "<i2"), ("angle", "<f4"), ("kind", "u1"), ("quality", "u1"))


class Columns:
    """The fingers of a loaded gallery file, column-wise and read-only.

    Parameters
    ----------
    ids : list of str
        Subject ids, in file order.
    numbers : dict of str to int
        Each subject id's place in ``ids``.
    arrays : dict of str to ndarray
        ``finger_start``, ``minutia_start`` and every column of :data:`FINGER_COLUMNS` and
        :data:`MINUTIA_COLUMNS`, checked by :func:`check`.
    mapped_nbytes : int
        Bytes of the file these arrays view (0 when they are in RAM).
    """

    def __init__(self, ids: list[str], numbers: dict[str, int], arrays: dict[str, np.ndarray],
                 mapped_nbytes: int = 0) -> None:
        self.ids, self.numbers = ids, numbers
        self.finger_start: npt.NDArray[np.int64] = arrays["finger_start"]
        self.minutia_start: npt.NDArray[np.int64] = arrays["minutia_start"]
        self.position: npt.NDArray[np.uint8] = arrays["position"]
        self.row: npt.NDArray[np.int64] = arrays["row"]
        self.width, self.height, self.dpi = arrays["width"], arrays["height"], arrays["dpi"]
        self.image_quality: npt.NDArray[np.uint8] = arrays["image_quality"]
        self.x, self.y, self.angle = arrays["x"], arrays["y"], arrays["angle"]
        self.kind, self.quality = arrays["kind"], arrays["quality"]
        self.mapped_nbytes = mapped_nbytes
        fingers = len(self.row)
        # row -> finger: the identity for a gallery saved without removals, else a sorted lookup
        self._identity = bool(np.array_equal(self.row, np.arange(fingers)))
        self._sorted_rows: npt.NDArray[np.int64] | None = None
        self._row_fingers: npt.NDArray[np.int64] | None = None
        if not self._identity:
            self._row_fingers = np.argsort(self.row, kind="stable")
            self._sorted_rows = self.row[self._row_fingers]
        self.next_row = int(self.row.max()) + 1 if fingers else 0

    @property
    def fingers(self) -> int:
        return len(self.row)

    def lookup_nbytes(self) -> int:
        """Bytes of RAM of the row lookup (0 when rows are the finger numbers)."""
        return 0 if self._identity else int(self._sorted_rows.nbytes + self._row_fingers.nbytes)  # type: ignore[union-attr]

    def fingers_of_rows(self, rows: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The finger holding each row, -1 where no finger does."""
        wanted = np.asarray(rows, dtype=np.int64)
        if self._identity:
            return np.where((wanted >= 0) & (wanted < self.fingers), wanted, -1)
        assert self._sorted_rows is not None and self._row_fingers is not None  # set together in __init__
        at = np.minimum(np.searchsorted(self._sorted_rows, wanted), max(self.fingers - 1, 0))
        if not self.fingers:
            return np.full(wanted.shape, -1, np.int64)
        return np.where(self._sorted_rows[at] == wanted, self._row_fingers[at], -1)

    def subjects_of(self, fingers: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The subject number holding each finger."""
        return np.searchsorted(self.finger_start, np.asarray(fingers, dtype=np.int64), side="right") - 1

    def template(self, finger: int) -> Template:
        """A new :class:`Template` of ``finger`` (its arrays are copies: it outlives the mapping).

        The columns were checked as a whole when the file was loaded (:mod:`matcher.index.store_check`), so the
        template is not checked again.
        """
        s = slice(int(self.minutia_start[finger]), int(self.minutia_start[finger + 1]))
        return Template._trusted(self.x[s], self.y[s], self.angle[s], self.kind[s], self.quality[s],
                                 width=int(self.width[finger]), height=int(self.height[finger]),
                                 dpi=int(self.dpi[finger]), image_quality=int(self.image_quality[finger]))


class LazyTemplates(Sequence[Template]):
    """The templates of some fingers of :class:`Columns`, each made when indexed and not kept."""

    def __init__(self, columns: Columns, fingers: npt.NDArray[np.int64]) -> None:
        self._columns, self._fingers = columns, fingers

    def __len__(self) -> int:
        return len(self._fingers)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            return [self._columns.template(int(f)) for f in self._fingers[item]]
        return self._columns.template(int(self._fingers[item]))

    def __iter__(self) -> Iterator[Template]:
        return (self._columns.template(int(f)) for f in self._fingers)


class Snapshot:
    """What the writer stores: subject ids, per-finger arrays, and the minutia columns in parts
    (views of a mapped file or arrays built from templates), all in file order."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.fingers_per_subject: list[np.ndarray] = []
        self.finger_parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in FINGER_COLUMNS}
        self.minutiae_per_finger: list[np.ndarray] = []
        self.minutia_parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in MINUTIA_COLUMNS}

    def add_columns(self, columns: Columns, alive: npt.NDArray[np.bool_]) -> None:
        """The fingers of ``columns`` still ``alive``: runs of consecutive fingers, as views."""
        flags = np.concatenate([[False], alive, [False]])
        edges = np.flatnonzero(flags[1:] != flags[:-1])
        for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
            s0, s1 = (int(v) for v in columns.subjects_of([a, b - 1]))
            self.ids.extend(columns.ids[s0:s1 + 1])
            self.fingers_per_subject.append(np.diff(columns.finger_start[s0:s1 + 2]))
            for name, _ in FINGER_COLUMNS:
                self.finger_parts[name].append(getattr(columns, name)[a:b])
            m0, m1 = int(columns.minutia_start[a]), int(columns.minutia_start[b])
            self.minutiae_per_finger.append(np.diff(columns.minutia_start[a:b + 1]))
            for name, _ in MINUTIA_COLUMNS:
                self.minutia_parts[name].append(getattr(columns, name)[m0:m1])

    def add_templates(self, records: Sequence[tuple[str, Sequence[tuple[int, int, Template]]]]) -> None:
        """``[(subject, [(position, row, template), ...]), ...]``, fingers in position order; the
        minutiae are concatenated (one copy)."""
        fingers = [finger for _, fingers in records for finger in fingers]
        self.ids.extend(subject for subject, _ in records)
        self.fingers_per_subject.append(np.array([len(f) for _, f in records], np.int64))
        templates = [t for _, _, t in fingers]
        self.finger_parts["position"].append(np.array([p for p, _, _ in fingers], np.uint8))
        self.finger_parts["row"].append(np.array([r for _, r, _ in fingers], np.int64))
        for name, dtype in FINGER_COLUMNS[2:]:
            self.finger_parts[name].append(np.array([getattr(t, name) for t in templates], dtype))
        self.minutiae_per_finger.append(np.array([len(t) for t in templates], np.int64))
        for name, dtype in MINUTIA_COLUMNS:
            arrays = [getattr(t, name) for t in templates]
            self.minutia_parts[name].append(np.concatenate(arrays).astype(dtype, copy=False) if arrays
                                            else np.zeros(0, dtype))
