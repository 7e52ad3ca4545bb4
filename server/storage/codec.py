"""Validation of store input and the stored form of a template (native bytes, then encrypted).

The associated data of a finger's blob is ``b"basma/finger/v1\\0" + subject (UTF-8) + b"\\0" +
position code (1 byte)``; subject ids are printable, so the encoding is unambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matcher
from matcher import FingerPosition, InvalidParameterError, InvalidTemplateError, Template
from server.storage.crypto import TemplateCipher
from server.storage.errors import CorruptRecordError, mask_subject

__all__ = ["MAX_SUBJECT_CHARS", "MAX_FINGERS", "check_subject", "check_position", "check_fingers",
           "finger_aad", "seal", "unseal"]

#: Longest subject id, in characters (as :class:`matcher.index.Gallery`).
MAX_SUBJECT_CHARS = 64
#: Most fingers one subject holds.
MAX_FINGERS = 10
_AAD_PREFIX = b"basma/finger/v1\x00"


def check_subject(subject: Any) -> str:
    """``subject`` if it is 1-64 printable characters without surrounding spaces, else InvalidParameterError."""
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


def check_position(position: Any) -> FingerPosition:
    """``position`` as a :class:`~matcher.FingerPosition` (code 0..10), else InvalidParameterError."""
    if isinstance(position, bool):
        raise InvalidParameterError(f"finger position must be a FingerPosition, got {position!r}")
    try:
        return FingerPosition(position)
    except (ValueError, TypeError):
        raise InvalidParameterError(f"finger position must be a code 0..10, got {position!r:.40}") from None


def check_template(template: Any, position: FingerPosition) -> Template:
    """``template`` if it is a :class:`~matcher.Template`, else InvalidTemplateError naming the finger."""
    if not isinstance(template, Template):
        raise InvalidTemplateError(
            f"template of finger {position.name} must be a matcher.Template, got {type(template).__name__}")
    return template


def check_fingers(fingers: Any) -> dict[FingerPosition, Template]:
    """Validate ``{position: template}``: 1 to 10 distinct positions, each a Template."""
    if not isinstance(fingers, Mapping):
        raise InvalidParameterError(f"fingers must be a mapping position -> Template, got {type(fingers).__name__}")
    result: dict[FingerPosition, Template] = {}
    for key, template in fingers.items():
        position = check_position(key)
        if position in result:
            raise matcher.DuplicateIdError(f"fingers holds finger position {position.name} twice")
        result[position] = check_template(template, position)
    if not result:
        raise InvalidParameterError(f"fingers is empty: a subject holds 1 to {MAX_FINGERS} fingers")
    if len(result) > MAX_FINGERS:
        raise InvalidParameterError(f"fingers holds {len(result)} fingers, at most {MAX_FINGERS}")
    return result


def finger_aad(subject: str, position: int) -> bytes:
    """The associated data binding an encrypted template to ``subject`` and ``position``."""
    return _AAD_PREFIX + subject.encode("utf-8") + b"\x00" + bytes([int(position)])


def seal(cipher: TemplateCipher, subject: str, position: FingerPosition, template: Template) -> bytes:
    """The stored blob of ``template``: native serialisation, encrypted and bound to its place."""
    return cipher.encrypt(matcher.formats.dumps(template, format="native"), aad=finger_aad(subject, position))


def unseal(cipher: TemplateCipher, subject: str, position: int, blob: bytes) -> Template:
    """The template stored in ``blob``; :class:`CorruptRecordError` naming subject and finger otherwise."""
    where = f"subject {mask_subject(subject)} finger {position}"
    try:
        finger = FingerPosition(position)
    except ValueError:
        raise CorruptRecordError(f"stored finger position {position} of subject {mask_subject(subject)} "
                                 "is not a code 0..10", subject=subject, position=position) from None
    try:
        plaintext = cipher.decrypt(blob, aad=finger_aad(subject, finger))
    except CorruptRecordError as exc:
        raise CorruptRecordError(f"{where}: {exc}", subject=subject, position=int(finger)) from None
    try:
        return matcher.formats.loads(plaintext, format="native")
    except InvalidTemplateError as exc:
        raise CorruptRecordError(f"{where}: stored template cannot be decoded: {exc}",
                                 subject=subject, position=int(finger)) from None
