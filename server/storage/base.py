"""The template store: subjects and their encrypted finger templates, durable and transactional.

:class:`Store` holds every operation, written once in portable SQL (see
:mod:`server.storage.sql`); a backend (:mod:`~server.storage.sqlite`,
:mod:`~server.storage.postgresql`) supplies connections, transactions and error translation.
Templates are validated and encrypted before a transaction starts and decrypted after it ends,
so no connection is held during cryptography.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from matcher import DuplicateIdError, FingerPosition, InvalidParameterError, Template, UnknownIdError
from server.storage import codec
from server.storage.crypto import TemplateCipher
from server.storage.errors import mask_subject
from server.storage.sql import Cursor, as_datetime, utc_now

__all__ = ["Store", "SubjectRecord", "MAX_BATCH_SIZE"]

#: Largest ``batch_size`` of :meth:`Store.iter_subjects`.
MAX_BATCH_SIZE = 100_000

_UPSERT_SUBJECT = ("INSERT INTO subjects (subject, created_at, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (subject) DO UPDATE SET updated_at = excluded.updated_at")
_INSERT_SUBJECT = ("INSERT INTO subjects (subject, created_at, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (subject) DO NOTHING RETURNING subject")
_INSERT_FINGER = "INSERT INTO fingers (subject, position, template) VALUES (?, ?, ?)"


@dataclass(frozen=True)
class SubjectRecord:
    """One enrolled subject as stored.

    Attributes
    ----------
    subject : str
        The subject id (1-64 printable characters).
    fingers : dict of FingerPosition to Template
        The decrypted templates, by position, in position order.
    created_at, updated_at : datetime
        Tz-aware UTC times of the first and the latest write of the subject.
    """

    subject: str
    fingers: dict[FingerPosition, Template]
    created_at: datetime
    updated_at: datetime


class Store(abc.ABC):
    """Subjects and their encrypted templates in a SQL database; safe to share between threads.

    Open one with :func:`server.storage.open_store`. Every write is one transaction, durable
    when the method returns; a failed write changes nothing.
    """

    #: ``"sqlite"`` or ``"postgresql"``.
    dialect: str

    def __init__(self, key: bytes) -> None:
        self._cipher = TemplateCipher(key)

    # -- backend hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def transaction(self, *, readonly: bool = False) -> contextlib.AbstractContextManager[Cursor]:
        """A context manager running its block in one database transaction, yielding a :class:`Cursor`.

        The transaction commits when the block ends normally (durable on return) and rolls back
        when it raises. SQL uses ``?`` placeholders on both backends (see
        :mod:`server.storage.sql`). ``readonly=True`` lets SQLite run it concurrently with a
        writer (a deferred transaction); writes need the default.

        Raises
        ------
        StoreUnavailableError
            When the database cannot be reached, is locked too long, read-only or full.
        StoreError
            On any other database failure.

        Examples
        --------
        >>> with store.transaction() as cur:  # doctest: +SKIP
        ...     cur.execute("SELECT COUNT(*) FROM subjects WHERE created_at < ?", (when,))
        ...     (count,) = cur.fetchone()
        """

    @abc.abstractmethod
    def ping(self) -> None:
        """Return when the database answers; :class:`StoreUnavailableError` otherwise."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush and release every connection; idempotent. Later calls raise StoreUnavailableError."""

    @abc.abstractmethod
    def _table_exists(self, cur: Cursor, name: str) -> bool:
        """Whether table ``name`` exists (for the migration runner)."""

    @abc.abstractmethod
    def _run_script(self, cur: Cursor, script: str) -> None:
        """Execute a migration script of several statements inside the current transaction."""

    def _lock_migrations(self, cur: Cursor) -> None:  # noqa: B027 - SQLite's write lock suffices
        """Serialise concurrent migration runners (a no-op where the write transaction already does)."""

    # -- operations ------------------------------------------------------------------------
    def put_finger(self, subject: str, position: FingerPosition, template: Template, *,
                   overwrite: bool = False) -> SubjectRecord:
        """Store one finger of ``subject``, creating the subject when new.

        Parameters
        ----------
        subject : str
            1-64 printable characters.
        position : FingerPosition or int
            Code 0..10.
        template : Template
        overwrite : bool
            Replace the finger when the subject already has one at ``position``.

        Returns
        -------
        SubjectRecord
            The whole subject after the write (committed and durable).

        Raises
        ------
        InvalidParameterError
            Bad subject id or position, or the subject already holds 10 other fingers.
        InvalidTemplateError
            ``template`` is not a :class:`matcher.Template`.
        DuplicateIdError
            The finger exists and ``overwrite`` is false.
        StoreUnavailableError, StoreError
            The database failed; nothing was written.
        """
        subject = codec.check_subject(subject)
        position = codec.check_position(position)
        blob = codec.seal(self._cipher, subject, position, codec.check_template(template, position))
        now = utc_now()
        with self.transaction() as cur:
            cur.execute(_UPSERT_SUBJECT, (subject, now, now))  # locks the subject's row
            cur.execute("SELECT position FROM fingers WHERE subject = ?", (subject,))
            positions = {int(row[0]) for row in cur.fetchall()}
            if int(position) in positions:
                if not overwrite:
                    raise DuplicateIdError(f"subject {mask_subject(subject)} already has finger {position.name}")
                cur.execute("UPDATE fingers SET template = ? WHERE subject = ? AND position = ?",
                            (blob, subject, int(position)))
            else:
                if len(positions) >= codec.MAX_FINGERS:
                    raise InvalidParameterError(
                        f"subject {mask_subject(subject)} already holds {codec.MAX_FINGERS} fingers")
                cur.execute(_INSERT_FINGER, (subject, int(position), blob))
            row = self._read(cur, subject)
        return self._record(subject, row)

    def put_subject(self, subject: str, fingers: Mapping[FingerPosition, Template], *,
                    replace: bool = False) -> SubjectRecord:
        """Store ``subject`` with all its ``fingers`` in one transaction.

        Parameters
        ----------
        subject : str
        fingers : mapping of FingerPosition to Template
            1 to 10 fingers.
        replace : bool
            When the subject exists, drop its old fingers instead of raising.

        Returns
        -------
        SubjectRecord

        Raises
        ------
        InvalidParameterError, InvalidTemplateError
            Bad subject id, positions or templates.
        DuplicateIdError
            The subject exists and ``replace`` is false.
        StoreUnavailableError, StoreError
            The database failed; nothing was written.
        """
        subject = codec.check_subject(subject)
        checked = codec.check_fingers(fingers)
        blobs = [(int(p), codec.seal(self._cipher, subject, p, t)) for p, t in sorted(checked.items())]
        now = utc_now()
        with self.transaction() as cur:
            if replace:
                cur.execute(_UPSERT_SUBJECT, (subject, now, now))
                cur.execute("DELETE FROM fingers WHERE subject = ?", (subject,))
            else:
                cur.execute(_INSERT_SUBJECT, (subject, now, now))
                if cur.fetchone() is None:
                    raise DuplicateIdError(f"subject {mask_subject(subject)} is already enrolled")
            for position, blob in blobs:
                cur.execute(_INSERT_FINGER, (subject, position, blob))
            row = self._read(cur, subject)
        return self._record(subject, row)

    def delete_subject(self, subject: str) -> None:
        """Delete ``subject`` and its fingers (durable on return); :class:`UnknownIdError` when absent."""
        subject = codec.check_subject(subject)
        with self.transaction() as cur:
            cur.execute("DELETE FROM subjects WHERE subject = ? RETURNING subject", (subject,))
            if cur.fetchone() is None:
                raise UnknownIdError(f"subject {mask_subject(subject)} is not enrolled")

    def get_subject(self, subject: str) -> SubjectRecord:
        """The stored record of ``subject``; :class:`UnknownIdError` when absent.

        Raises
        ------
        CorruptRecordError
            A template fails authentication or decoding (names subject and finger).
        """
        subject = codec.check_subject(subject)
        with self.transaction(readonly=True) as cur:
            row = self._read(cur, subject)
        return self._record(subject, row)

    def has_subject(self, subject: str) -> bool:
        """Whether ``subject`` is stored."""
        subject = codec.check_subject(subject)
        with self.transaction(readonly=True) as cur:
            cur.execute("SELECT 1 FROM subjects WHERE subject = ?", (subject,))
            return cur.fetchone() is not None

    def iter_subjects(self, *, batch_size: int = 1000) -> Iterator[SubjectRecord]:
        """Every stored subject, ordered by id (code-point order on both backends).

        Subjects are read ``batch_size`` at a time, each batch in its own short transaction, so
        no connection is held while the caller works; a subject written during the iteration
        may or may not be seen. Meant for rebuilding the in-memory gallery at start.

        Raises
        ------
        InvalidParameterError
            ``batch_size`` is not an integer in 1..100000.
        CorruptRecordError
            A template fails authentication or decoding.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise InvalidParameterError(f"batch_size must be an integer in 1..{MAX_BATCH_SIZE}, got {batch_size!r}")
        last: str | None = None
        while True:
            with self.transaction(readonly=True) as cur:
                if last is None:
                    cur.execute("SELECT subject, created_at, updated_at FROM subjects "
                                "ORDER BY subject LIMIT ?", (batch_size,))
                else:
                    cur.execute("SELECT subject, created_at, updated_at FROM subjects WHERE subject > ? "
                                "ORDER BY subject LIMIT ?", (last, batch_size))
                heads = cur.fetchall()
                if not heads:
                    return
                cur.execute("SELECT subject, position, template FROM fingers WHERE subject >= ? AND subject <= ? "
                            "ORDER BY subject, position", (heads[0][0], heads[-1][0]))
                blobs: dict[str, list[tuple[int, bytes]]] = {}
                for name, position, blob in cur.fetchall():
                    blobs.setdefault(name, []).append((int(position), bytes(blob)))
            for name, created, updated in heads:
                yield self._record(name, (created, updated, blobs.get(name, [])))
            if len(heads) < batch_size:
                return
            last = heads[-1][0]

    def counts(self) -> tuple[int, int]:
        """``(subjects, fingers)`` stored."""
        with self.transaction(readonly=True) as cur:
            cur.execute("SELECT (SELECT COUNT(*) FROM subjects), (SELECT COUNT(*) FROM fingers)")
            subjects, fingers = cur.fetchone() or (0, 0)
        return int(subjects), int(fingers)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _read(cur: Cursor, subject: str) -> tuple[Any, Any, list[tuple[int, bytes]]] | None:
        cur.execute("SELECT created_at, updated_at FROM subjects WHERE subject = ?", (subject,))
        head = cur.fetchone()
        if head is None:
            return None
        cur.execute("SELECT position, template FROM fingers WHERE subject = ? ORDER BY position", (subject,))
        return head[0], head[1], [(int(p), bytes(b)) for p, b in cur.fetchall()]

    def _record(self, subject: str, row: tuple[Any, Any, list[tuple[int, bytes]]] | None) -> SubjectRecord:
        if row is None:
            raise UnknownIdError(f"subject {mask_subject(subject)} is not enrolled")
        created, updated, blobs = row
        fingers: dict[FingerPosition, Template] = {}
        for position, blob in blobs:
            template = codec.unseal(self._cipher, subject, position, blob)  # checks the position
            fingers[FingerPosition(position)] = template
        return SubjectRecord(subject=subject, fingers=fingers, created_at=as_datetime(created),
                             updated_at=as_datetime(updated))
