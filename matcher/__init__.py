"""Basma: fingerprint minutiae extraction, templates, interchange formats and matching.

The public API is exactly ``__all__``; every other module is private.
"""

from matcher.errors import (
    InvalidImageError,
    InvalidParameterError,
    InvalidTemplateError,
    MatcherError,
    NativeExtensionError,
    TemplateVersionError,
)
from matcher.template import FingerPosition, FingerView, MinutiaKind, Template

__version__ = "0.1.0"

__all__ = [
    "FingerPosition",
    "FingerView",
    "InvalidImageError",
    "InvalidParameterError",
    "InvalidTemplateError",
    "MatcherError",
    "MinutiaKind",
    "NativeExtensionError",
    "Template",
    "TemplateVersionError",
    "__version__",
]
