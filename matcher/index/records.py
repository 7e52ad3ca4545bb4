"""The gallery's records: subject id -> finger position -> template, with stable row numbers.

Every stored finger gets a *row*, an integer that never changes while the finger is stored and
is never reused in the lifetime of the object; a candidate index (the exhaustive one, the FAISS
one) names fingers by row. A gallery file keeps the rows, so a stored candidate index stays valid.

Records loaded from a gallery file of version 3 stay in the file's mapped, read-only columns
(:class:`~matcher.index.columns.Columns`, the *base*); a finger's template is made when it is read
(kept only by :meth:`Records.rows_at`, whose templates carry the exhaustive search's cached
search forms). Removing a base subject only marks its fingers dead; every subject added later
(a replaced one too) lives in RAM, as every subject of a gallery that was never loaded does.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from matcher.errors import DuplicateIdError, InvalidParameterError, InvalidTemplateError, UnknownIdError
from matcher.index.columns import Columns, LazyTemplates, Snapshot
from matcher.template import FingerPosition, Template

__all__ = ["MAX_SUBJECT_CHARS", "MAX_FINGERS", "Records", "check_subject", "check_fingers",
           "check_position"]

#: Longest subject id, in characters.
MAX_SUBJECT_CHARS = 64
#: Most fingers one subject holds.
MAX_FINGERS = 10


def check_subject(subject: Any) -> str:
    """``subject`` if it is a valid id, else :class:`InvalidParameterError` naming it.

    A valid id is a ``str`` of 1 to :data:`MAX_SUBJECT_CHARS` printable characters (no control,
    tab or newline characters, no unpaired surrogates) that neither starts nor ends with a space.
    Messages never repeat the id: subject ids are often national ids (personal data).
    """
    if not isinstance(subject, str):
        raise InvalidParameterError(f"subject id must be a str, got {type(subject).__name__}")
    if not subject:
        raise InvalidParameterError("subject id must not be empty")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidParameterError(
            f"subject id must be at most {MAX_SUBJECT_CHARS} characters, got {len(subject)}")
    if not subject.isprintable() or any("\ud800" <= c <= "\udfff" for c in subject):
        raise InvalidParameterError("subject id must be printable (no control characters)")
    if subject != subject.strip():
        raise InvalidParameterError("subject id must not start or end with whitespace")
    return subject


def check_position(position: Any, name: str = "finger position") -> FingerPosition:
    """``position`` as a :class:`FingerPosition` (codes 0-10), else :class:`InvalidParameterError`."""
    if isinstance(position, bool):
        raise InvalidParameterError(f"{name} must be a FingerPosition, got {position!r}")
    try:
        return FingerPosition(position)
    except (ValueError, TypeError):
        raise InvalidParameterError(f"{name} must be a FingerPosition (code 0..10), got {position!r}") from None


def check_fingers(fingers: Any, name: str = "fingers") -> dict[FingerPosition, Template]:
    """Validate ``{position: template}`` or ``[(position, template), ...]``: 1 to 10 distinct positions."""
    if isinstance(fingers, Mapping):
        pairs: Iterable[Any] = fingers.items()
    elif isinstance(fingers, (str, bytes)) or not isinstance(fingers, Iterable):
        raise InvalidParameterError(
            f"{name} must be a mapping or pairs of FingerPosition -> Template, got {type(fingers).__name__}")
    else:
        pairs = fingers
    result: dict[FingerPosition, Template] = {}
    for i, pair in enumerate(pairs):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidParameterError(f"{name}[{i}] must be a (position, template) pair, got {pair!r:.60}")
        position = check_position(pair[0], f"{name}[{i}] position")
        if not isinstance(pair[1], Template):
            raise InvalidTemplateError(
                f"{name}[{position.name}] must be a matcher.Template, got {type(pair[1]).__name__}")
        if position in result:
            raise DuplicateIdError(f"{name} holds finger position {position.name} twice")
        result[position] = pair[1]
    if not result:
        raise InvalidParameterError(f"{name} is empty: a record holds 1 to {MAX_FINGERS} fingers")
    if len(result) > MAX_FINGERS:
        raise InvalidParameterError(f"{name} holds {len(result)} fingers, at most {MAX_FINGERS}")
    return result


def _template_bytes(template: Template) -> int:
    arrays = (template.x, template.y, template.angle, template.kind, template.quality)
    # getsizeof of an array that owns its data includes the data; Template's arrays own theirs.
    return sys.getsizeof(template) + sys.getsizeof(template.__dict__) + sum(sys.getsizeof(a) for a in arrays)


#: Subjects in RAM gathered per part of a :class:`Snapshot` (bounded temporaries when saving).
_SNAPSHOT_SUBJECTS = 65536


class Records:
    """Subjects, their fingers, and the row of each finger; not thread-safe (the Gallery locks).

    Parameters
    ----------
    base : Columns, optional
        The fingers of a loaded gallery file (module docstring); None for an empty gallery.
    """

    def __init__(self, base: Columns | None = None) -> None:
        # fingers in RAM: subject -> {position: row}, row -> (subject, position, template)
        self._subjects: dict[str, dict[FingerPosition, int]] = {}
        self._rows: dict[int, tuple[str, FingerPosition, Template]] = {}
        self._by_position: dict[FingerPosition, dict[int, Template]] = {}
        self._base = base
        # the base: live subjects -> subject number, live fingers, templates kept by rows_at
        self._base_subjects: dict[str, int] = {}
        self._alive = np.zeros(0, bool)
        self._base_fingers = 0
        self._kept: dict[int, Template] = {}
        self._next_row = 0
        if base is not None:
            self._base_subjects = base.numbers.copy()
            self._alive = np.ones(base.fingers, bool)
            self._base_fingers = base.fingers
            self._next_row = base.next_row

    def __len__(self) -> int:
        return len(self._base_subjects) + len(self._subjects)

    @property
    def next_row(self) -> int:
        """The row the next finger gets: every row ever given is below it."""
        return self._next_row

    def __contains__(self, subject: object) -> bool:
        return subject in self._subjects or subject in self._base_subjects

    def __iter__(self) -> Iterator[str]:
        return itertools.chain(self._base_subjects, self._subjects)

    @property
    def templates(self) -> int:
        return self._base_fingers + len(self._rows)

    def add(self, subject: str, fingers: dict[FingerPosition, Template],
            rows_given: dict[FingerPosition, int] | None = None) -> list[int]:
        """Store a checked record; returns the new rows, in the order of ``fingers``.

        ``rows_given`` (a loaded gallery file's rows) must be unused rows; later rows follow them.
        """
        if subject in self:
            raise DuplicateIdError(f"subject id {subject!r} is already enrolled")
        if rows_given is not None and any(r < 0 or self._taken(r) for r in rows_given.values()):
            raise DuplicateIdError(f"subject id {subject!r}: row numbers {sorted(rows_given.values())} are taken")
        rows: dict[FingerPosition, int] = {}
        for position, template in fingers.items():
            if rows_given is None:
                row = self._next_row
            else:
                row = rows_given[position]
            self._next_row = max(self._next_row, row + 1)
            rows[position] = row
            self._rows[row] = (subject, position, template)
            self._by_position.setdefault(position, {})[row] = template
        self._subjects[subject] = rows
        return list(rows.values())

    def _live_base_fingers(self, rows: Sequence[int]) -> np.ndarray:
        """The live base finger of each row, -1 where the base holds no live finger of that row."""
        if self._base is None or not len(self._alive):
            return np.full(len(rows), -1, np.int64)
        fingers = self._base.fingers_of_rows(rows)
        return np.where((fingers >= 0) & self._alive[np.maximum(fingers, 0)], fingers, -1)

    def _taken(self, row: int) -> bool:
        return row in self._rows or self._live_base_fingers([row])[0] >= 0

    def remove(self, subject: str) -> list[int]:
        """Drop a record; returns the rows it held."""
        fingers = self._base_range(subject)
        if fingers is not None:
            del self._base_subjects[subject]
            self._alive[fingers.start:fingers.stop] = False
            self._base_fingers -= len(fingers)
            for finger in fingers:
                self._kept.pop(finger, None)
            return self._base.row[fingers.start:fingers.stop].tolist()  # type: ignore[union-attr, no-any-return]
        rows = self._subjects.pop(subject, None)
        if rows is None:
            raise UnknownIdError(f"subject id {subject!r} is not enrolled")
        for position, row in rows.items():
            del self._rows[row]
            del self._by_position[position][row]
            if not self._by_position[position]:
                del self._by_position[position]
        return list(rows.values())

    def _base_range(self, subject: str) -> range | None:
        number = self._base_subjects.get(subject)
        if number is None:
            return None
        assert self._base is not None  # base subjects exist only with a base
        return range(int(self._base.finger_start[number]), int(self._base.finger_start[number + 1]))

    def get(self, subject: str) -> dict[FingerPosition, Template]:
        fingers = self._base_range(subject)
        if fingers is not None:
            return {FingerPosition(int(self._base.position[f])): self._template(f)  # type: ignore[union-attr]
                    for f in fingers}
        rows = self._subjects.get(subject)
        if rows is None:
            raise UnknownIdError(f"subject id {subject!r} is not enrolled")
        return {position: self._rows[row][2] for position, row in rows.items()}

    def rows_of(self, subject: str) -> dict[FingerPosition, int]:
        """``{position: row}`` of an enrolled subject."""
        fingers = self._base_range(subject)
        if fingers is not None:
            base = self._base
            return {FingerPosition(int(base.position[f])): int(base.row[f]) for f in fingers}  # type: ignore[union-attr]
        rows = self._subjects.get(subject)
        if rows is None:
            raise UnknownIdError(f"subject id {subject!r} is not enrolled")
        return dict(rows)

    def _template(self, finger: int) -> Template:
        kept = self._kept.get(finger)
        return kept if kept is not None else self._base.template(finger)  # type: ignore[union-attr]

    def _base_finger(self, row: int) -> int:
        finger = int(self._live_base_fingers([row])[0])
        if finger < 0:
            raise KeyError(row)
        return finger

    def owners(self, rows: Sequence[int]) -> list[tuple[str, FingerPosition]]:
        """``(subject, position)`` of each stored row (KeyError for a row that is not stored)."""
        found: list[tuple[str, FingerPosition] | None] = []
        for row in rows:
            entry = self._rows.get(row)
            found.append(None if entry is None else (entry[0], entry[1]))
        missing = [i for i, entry in enumerate(found) if entry is None]
        if not missing:
            return found  # type: ignore[return-value]
        fingers = self._live_base_fingers([rows[i] for i in missing])
        if np.any(fingers < 0):
            raise KeyError(rows[missing[int(np.argmax(fingers < 0))]])
        base = self._base
        assert base is not None  # live base fingers exist only with a base
        subjects = base.subjects_of(fingers).tolist()
        for i, subject, position in zip(missing, subjects, base.position[fingers].tolist(), strict=True):
            found[i] = (base.ids[subject], FingerPosition(position))
        return found  # type: ignore[return-value]

    def owner(self, row: int) -> tuple[str, FingerPosition]:
        """``(subject, position)`` of a stored row (KeyError when it is not stored)."""
        return self.owners([row])[0]

    def template(self, row: int) -> Template:
        """The template of a stored row (made from the mapped columns, and not kept, for a base row)."""
        entry = self._rows.get(row)
        return entry[2] if entry is not None else self._template(self._base_finger(row))

    def base_templates(self) -> tuple[list[int], Sequence[Template]]:
        """The rows of the live base fingers and their templates, each made when read and not kept
        (a loaded file's fingers, indexed in one batch by a candidate index of another mode)."""
        if self._base is None:
            return [], []
        fingers = np.flatnonzero(self._alive)
        return self._base.row[fingers].tolist(), LazyTemplates(self._base, fingers)

    def rows_at(self, positions: Iterable[FingerPosition] | None) -> tuple[list[int], list[Template]]:
        """Rows and templates at ``positions`` (every row when None), base rows first, in row order per
        position; the base templates made here are kept (they carry the exhaustive search's search forms)."""
        rows: list[int] = []
        templates: list[Template] = []
        wanted = None if positions is None else list(positions)
        base = self._base
        if base is not None and self._base_fingers:
            if wanted is None:
                fingers = np.flatnonzero(self._alive)
            else:  # grouped by position, as the rows in RAM are
                fingers = np.concatenate([np.zeros(0, np.int64)]
                                         + [np.flatnonzero(self._alive & (base.position == p)) for p in wanted])
            rows.extend(base.row[fingers].tolist())
            for finger in fingers.tolist():
                kept = self._kept.get(finger)
                if kept is None:
                    kept = self._kept[finger] = base.template(finger)
                templates.append(kept)
        if wanted is None:
            rows.extend(self._rows)
            templates.extend(entry[2] for entry in self._rows.values())
            return rows, templates
        for position in wanted:
            stored = self._by_position.get(position)
            if stored:
                rows.extend(stored)
                templates.extend(stored.values())
        return rows, templates

    def snapshot(self) -> Snapshot:
        """Every record, in iteration order, as the writer wants it (fingers in position order)."""
        snapshot = Snapshot()
        if self._base is not None:
            snapshot.add_columns(self._base, self._alive)
        subjects = list(self._subjects.items())
        for first in range(0, len(subjects), _SNAPSHOT_SUBJECTS):
            snapshot.add_templates([
                (subject, [(int(p), rows[p], self._rows[rows[p]][2]) for p in sorted(rows)])
                for subject, rows in subjects[first:first + _SNAPSHOT_SUBJECTS]])
        return snapshot

    def nbytes(self) -> int:
        """Approximate RAM of the templates and the bookkeeping (not the matcher's search forms, not
        the mapped file: :meth:`mapped_nbytes`)."""
        total = sys.getsizeof(self._subjects) + sys.getsizeof(self._rows) + sys.getsizeof(self._by_position)
        for subject, rows in self._subjects.items():
            total += sys.getsizeof(subject) + sys.getsizeof(rows)
        for entry in self._rows.values():
            total += sys.getsizeof(entry) + _template_bytes(entry[2]) + 2 * sys.getsizeof(2**40)
        total += sum(sys.getsizeof(stored) for stored in self._by_position.values())
        if self._base is not None:
            ids = self._base.ids
            total += sys.getsizeof(ids) + sum(map(sys.getsizeof, ids))  # the id strings, shared with the dict
            total += sys.getsizeof(self._base_subjects) + sys.getsizeof(2**40) * len(self._base_subjects)
            total += self._alive.nbytes + self._base.lookup_nbytes() + sys.getsizeof(self._kept)
            total += sum(_template_bytes(t) + sys.getsizeof(2**40) for t in self._kept.values())
        return int(total)

    def mapped_nbytes(self) -> int:
        """Bytes of the loaded gallery file that the base columns view (resident only once read)."""
        return 0 if self._base is None else self._base.mapped_nbytes
