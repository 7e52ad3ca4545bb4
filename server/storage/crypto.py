"""Encryption of templates at rest: AES-256-GCM with a per-record associated data.

A stored blob is ``version (1 byte, 0x01) || nonce (12 random bytes) || ciphertext || tag (16
bytes)``. The associated data binds a blob to its place (the store passes the subject id and
the finger position), so a blob copied to another subject or finger fails authentication.

The key is 32 bytes, read from a file (raw 32 bytes, or 64 hexadecimal characters) or from an
environment variable (hexadecimal). Key rotation is not implemented yet: the version byte
leaves room for a key id.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from matcher import InvalidParameterError
from server.storage.errors import CorruptRecordError

__all__ = ["KEY_BYTES", "TemplateCipher", "load_key", "write_dev_key"]

log = logging.getLogger(__name__)

#: Length of an AES-256 key, in bytes.
KEY_BYTES = 32
#: First byte of every blob this build writes (and the only one it reads).
BLOB_VERSION = 1
_NONCE_BYTES = 12
_TAG_BYTES = 16
_DEFAULT_ENV = "BASMA_TEMPLATE_KEY"


class TemplateCipher:
    """Encrypt and authenticate template bytes with AES-256-GCM.

    Parameters
    ----------
    key : bytes
        32 bytes (see :func:`load_key`).

    Raises
    ------
    InvalidParameterError
        If ``key`` is not 32 bytes.

    Examples
    --------
    >>> cipher = TemplateCipher(bytes(32))
    >>> blob = cipher.encrypt(b"minutiae", aad=b"subject-1/2")
    >>> cipher.decrypt(blob, aad=b"subject-1/2")
    b'minutiae'
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
            size = f"{len(key)} bytes" if isinstance(key, (bytes, bytearray)) else type(key).__name__
            raise InvalidParameterError(f"template key must be {KEY_BYTES} bytes, got {size}")
        self._aead = AESGCM(bytes(key))

    def __repr__(self) -> str:  # never show the key
        return "TemplateCipher(<AES-256-GCM>)"

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """``plaintext`` encrypted under a fresh random nonce, bound to ``aad``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return bytes([BLOB_VERSION]) + nonce + self._aead.encrypt(nonce, bytes(plaintext), bytes(aad))

    def decrypt(self, blob: bytes, *, aad: bytes) -> bytes:
        """The plaintext of ``blob``; :class:`CorruptRecordError` if it is not authentic for ``aad``."""
        blob = bytes(blob)
        if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES:
            raise CorruptRecordError(f"encrypted template is truncated ({len(blob)} bytes)")
        if blob[0] != BLOB_VERSION:
            raise CorruptRecordError(f"encrypted template has unknown version {blob[0]} (expected {BLOB_VERSION})")
        nonce = blob[1:1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + _NONCE_BYTES:], bytes(aad))
        except InvalidTag:
            raise CorruptRecordError(
                "encrypted template fails authentication (tampered, moved or another key)") from None


def _parse_key(data: bytes, source: str) -> bytes:
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise InvalidParameterError(
        f"template key from {source} must be {KEY_BYTES} raw bytes or {2 * KEY_BYTES} hexadecimal "
        f"characters, got {len(data)} bytes that are neither")


def load_key(path: str | os.PathLike[str] | None = None, *, env: str = _DEFAULT_ENV) -> bytes:
    """The 32-byte template key from the file ``path``, or else from the environment variable ``env``.

    Parameters
    ----------
    path : path-like, optional
        A file holding the key: exactly 32 raw bytes, or 64 hexadecimal characters (surrounding
        whitespace ignored). A warning is logged when the file is readable by group or others.
    env : str
        The environment variable read when ``path`` is None (64 hexadecimal characters).

    Returns
    -------
    bytes
        32 bytes.

    Raises
    ------
    InvalidParameterError
        Naming the source (file path or variable name, never the key) when it is missing,
        unreadable or malformed.

    Examples
    --------
    >>> import os
    >>> os.environ["BASMA_DOCTEST_KEY"] = "00" * 32
    >>> load_key(env="BASMA_DOCTEST_KEY") == bytes(32)
    True
    """
    if path is not None:
        path = Path(path)
        try:
            data = path.read_bytes()
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise InvalidParameterError(f"template key file {str(path)!r} does not exist") from None
        except OSError as exc:
            raise InvalidParameterError(
                f"template key file {str(path)!r} cannot be read: {exc.strerror}") from None
        if mode & 0o077:
            log.warning("template key file %s is readable by group or others (mode %o); use 0600",
                        path, mode & 0o777)
        return _parse_key(data, f"file {str(path)!r}")
    value = os.environ.get(env)
    if value is None or not value.strip():
        raise InvalidParameterError(
            f"no template key: give a key file or set the environment variable {env}")
    return _parse_key(value.encode("utf-8", "replace"), f"environment variable {env}")


def write_dev_key(path: str | os.PathLike[str]) -> bytes:
    """Create a random development key file (64 hex characters, mode 0600) and return the key.

    An existing file is never overwritten: its key is returned instead (so ``make run`` can
    call this on every start and keep the data it encrypted before).

    Parameters
    ----------
    path : path-like
        The key file; its parent folder is created (mode 0700) when missing.

    Returns
    -------
    bytes
        The 32-byte key held by the file.

    Raises
    ------
    InvalidParameterError
        If an existing file does not hold a valid key, or the file cannot be created.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(path)
    except OSError as exc:
        raise InvalidParameterError(f"template key file {str(path)!r} cannot be created: {exc.strerror}") from None
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.hex().encode("ascii") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.info("created development template key file %s", path)
    return key
