"""Validation of store input and the stored form of a template (native bytes, then encrypted).

The associated data of a finger's blob is ``b"basma/finger/v1\\0" + subject (UTF-8) + b"\\0" +
position code (1 byte)``; subject ids are printable, so the encoding is unambiguous.
"""

from __future__ import annotations

from typing import Any

import matcher
from matcher import FingerPosition, InvalidTemplateError, Template
from matcher.index import MAX_FINGERS, MAX_SUBJECT_CHARS, check_fingers, check_position, check_subject
from server.storage.crypto import TemplateCipher
from server.storage.errors import CorruptRecordError, mask_subject

__all__ = ["MAX_SUBJECT_CHARS", "MAX_FINGERS", "check_subject", "check_position", "check_fingers",
           "finger_aad", "seal", "unseal"]

_AAD_PREFIX = b"basma/finger/v1\x00"


def check_template(template: Any, position: FingerPosition) -> Template:
    """``template`` if it is a :class:`~matcher.Template`, else InvalidTemplateError naming the finger."""
    if not isinstance(template, Template):
        raise InvalidTemplateError(
            f"template of finger {position.name} must be a matcher.Template, got {type(template).__name__}")
    return template


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
