"""The gallery's records: subject id -> finger position -> template, with stable row numbers.

Every stored finger gets a *row*, an integer that never changes while the finger is stored and
is never reused in the lifetime of the object; a candidate index (the exhaustive one, later a
FAISS one) names fingers by row. Rows are renumbered from 0 when a gallery is loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from matcher.errors import DuplicateIdError, InvalidParameterError, InvalidTemplateError, UnknownIdError
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


class Records:
    """Subjects, their fingers, and the row of each finger; not thread-safe (the Gallery locks)."""

    def __init__(self) -> None:
        self._subjects: dict[str, dict[FingerPosition, int]] = {}
        self._rows: dict[int, tuple[str, FingerPosition, Template]] = {}
        self._by_position: dict[FingerPosition, dict[int, Template]] = {}
        self._next_row = 0

    def __len__(self) -> int:
        return len(self._subjects)

    def __contains__(self, subject: object) -> bool:
        return subject in self._subjects

    def __iter__(self) -> Iterator[str]:
        return iter(self._subjects)

    @property
    def templates(self) -> int:
        return len(self._rows)

    def add(self, subject: str, fingers: dict[FingerPosition, Template],
            rows_given: dict[FingerPosition, int] | None = None) -> list[int]:
        """Store a checked record; returns the new rows, in the order of ``fingers``.

        ``rows_given`` (a loaded gallery file's rows) must be unused rows; later rows follow them.
        """
        if subject in self._subjects:
            raise DuplicateIdError(f"subject id {subject!r} is already enrolled")
        if rows_given is not None and any(self._rows.get(r) is not None or r < 0 for r in rows_given.values()):
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

    def remove(self, subject: str) -> list[int]:
        """Drop a record; returns the rows it held."""
        rows = self._subjects.pop(subject, None)
        if rows is None:
            raise UnknownIdError(f"subject id {subject!r} is not enrolled")
        for position, row in rows.items():
            del self._rows[row]
            del self._by_position[position][row]
            if not self._by_position[position]:
                del self._by_position[position]
        return list(rows.values())

    def get(self, subject: str) -> dict[FingerPosition, Template]:
        rows = self._subjects.get(subject)
        if rows is None:
            raise UnknownIdError(f"subject id {subject!r} is not enrolled")
        return {position: self._rows[row][2] for position, row in rows.items()}

    def rows_of(self, subject: str) -> dict[FingerPosition, int]:
        """``{position: row}`` of an enrolled subject."""
        rows = self._subjects.get(subject)
        if rows is None:
            raise UnknownIdError(f"subject id {subject!r} is not enrolled")
        return dict(rows)

    def row(self, row: int) -> tuple[str, FingerPosition, Template]:
        """``(subject, position, template)`` of a stored row."""
        return self._rows[row]

    def rows_at(self, positions: Iterable[FingerPosition] | None) -> tuple[list[int], list[Template]]:
        """Rows and templates at ``positions`` (every row when None), in row order per position."""
        if positions is None:
            return list(self._rows), [entry[2] for entry in self._rows.values()]
        rows: list[int] = []
        templates: list[Template] = []
        for position in positions:
            stored = self._by_position.get(position)
            if stored:
                rows.extend(stored)
                templates.extend(stored.values())
        return rows, templates

    def nbytes(self) -> int:
        """Approximate RAM of the templates and the bookkeeping (not the matcher's search forms)."""
        total = sys.getsizeof(self._subjects) + sys.getsizeof(self._rows) + sys.getsizeof(self._by_position)
        for subject, rows in self._subjects.items():
            total += sys.getsizeof(subject) + sys.getsizeof(rows)
        for entry in self._rows.values():
            total += sys.getsizeof(entry) + _template_bytes(entry[2]) + 2 * sys.getsizeof(2**40)
        total += sum(sys.getsizeof(stored) for stored in self._by_position.values())
        return int(total)
