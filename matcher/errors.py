"""The exceptions Basma raises on purpose.

Every error the library raises deliberately derives from :class:`MatcherError`, so callers
(and ``server/errors.py``, the only place that maps them to gRPC status codes) can catch one
type. Messages name the offending parameter and value; they never carry fingerprint data.
"""

from __future__ import annotations

__all__ = [
    "MatcherError",
    "InvalidImageError",
    "InvalidTemplateError",
    "TemplateVersionError",
    "InvalidParameterError",
    "NativeExtensionError",
    "UnknownIdError",
    "DuplicateIdError",
    "CorruptGalleryError",
]


class MatcherError(Exception):
    """Base class of every error Basma raises on purpose."""


class InvalidImageError(MatcherError, ValueError):
    """The image cannot be used: empty, truncated, not an image, wrong size or resolution."""


class InvalidTemplateError(MatcherError, ValueError):
    """A template (object or serialised bytes) is malformed or violates its invariants."""


class TemplateVersionError(InvalidTemplateError):
    """Serialised template bytes carry a format version this build does not know."""


class InvalidParameterError(MatcherError, ValueError):
    """A parameter given to a public function is out of its documented range."""


class NativeExtensionError(MatcherError, ImportError):
    """The compiled extension (``basma_native``) is missing or was built for another ABI."""


class UnknownIdError(MatcherError, KeyError):
    """A subject id names no record of the gallery."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class DuplicateIdError(MatcherError, ValueError):
    """A subject id (or a finger position within one record) is already taken."""


class CorruptGalleryError(MatcherError, ValueError):
    """A gallery file is not one, is truncated, or fails its checksum or its own invariants."""
