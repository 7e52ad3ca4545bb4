"""Errors of the template store, all :class:`matcher.MatcherError` subclasses.

``server/errors.py`` maps them to gRPC status codes: :class:`StoreUnavailableError` to
``UNAVAILABLE`` (retry later), :class:`CorruptRecordError` to ``DATA_LOSS``, any other
:class:`StoreError` to ``INTERNAL``. Messages never carry a key, a template, a DSN password or
a full subject id (see :func:`mask_subject`).
"""

from __future__ import annotations

import matcher

__all__ = ["StoreError", "StoreUnavailableError", "CorruptRecordError", "mask_subject"]


class StoreError(matcher.MatcherError):
    """The template store failed: bad schema, unexpected database error."""


class StoreUnavailableError(StoreError):
    """The database cannot be used now: unreachable, locked too long, read-only or full disk, closed."""


class CorruptRecordError(StoreError):
    """A stored template fails authentication (tampered, truncated, moved, wrong key) or decoding.

    Attributes
    ----------
    subject : str or None
        The subject whose record is corrupt (its full id, for the operator's repair tools; the
        message shows it masked).
    position : int or None
        The finger position code of the corrupt template.
    """

    def __init__(self, message: str, *, subject: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.subject = subject
        self.position = position


def mask_subject(subject: str) -> str:
    """``subject`` with all but its first two and last two characters replaced by ``*``.

    Ids of up to 4 characters are masked entirely, so a short id never shows in full.

    Examples
    --------
    >>> mask_subject("1234567890")
    '12******90'
    >>> mask_subject("abc")
    '***'
    """
    if len(subject) <= 4:
        return "*" * len(subject)
    return subject[:2] + "*" * (len(subject) - 4) + subject[-2:]
