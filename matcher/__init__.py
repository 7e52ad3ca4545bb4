"""Basma: fingerprint minutiae extraction, templates, interchange formats and matching.

The public API is exactly ``__all__``; every other module is private.

Examples
--------
>>> import numpy as np
>>> import matcher
>>> rows, cols = np.mgrid[0:160, 0:160]
>>> image = matcher.load_image((127 + 100 * np.sin(cols / 1.5)).astype(np.uint8), dpi=500)
>>> template = matcher.extract(image)
>>> data = matcher.formats.dumps(template, format="iso")
>>> matcher.formats.loads(data, format="iso").width
160
"""

from matcher import formats, matching, transparency
from matcher.errors import (
    CorruptGalleryError,
    DuplicateIdError,
    InvalidImageError,
    InvalidParameterError,
    InvalidTemplateError,
    MatcherError,
    NativeExtensionError,
    TemplateVersionError,
    UnknownIdError,
)
from matcher.features import extract
from matcher.image import FingerprintImage, load_image
from matcher.matching import Matcher, fuse, threshold_for_fmr, verify
from matcher.params import ExtractionParams, MatchingParams
from matcher.template import FingerPosition, FingerView, MinutiaKind, Template

__version__ = "0.1.0"

__all__ = [
    "CorruptGalleryError",
    "DuplicateIdError",
    "ExtractionParams",
    "FingerPosition",
    "FingerView",
    "FingerprintImage",
    "Matcher",
    "MatchingParams",
    "InvalidImageError",
    "InvalidParameterError",
    "InvalidTemplateError",
    "MatcherError",
    "MinutiaKind",
    "NativeExtensionError",
    "Template",
    "TemplateVersionError",
    "UnknownIdError",
    "__version__",
    "extract",
    "formats",
    "fuse",
    "load_image",
    "matching",
    "threshold_for_fmr",
    "transparency",
    "verify",
]
