"""Fingerprint datasets on disk: loaders that turn folders of images into samples.

:func:`iter_samples` reads any layout (FVC folders, SOCOFing, CSV manifests, synthetic sets;
:func:`detect_layout` tells which) as :class:`Sample` objects. Only the benchmarks and tests
use this package; the library (:mod:`matcher`) never imports it.
"""

from datasets.errors import DatasetError
from datasets.folders import (
    FVC_NATIVE_DPI,
    IMAGE_SUFFIXES,
    Sample,
    find_image_sets,
    fvc_native_dpi,
    iter_fvc,
    list_images,
)
from datasets.layouts import (
    LAYOUTS,
    SYNTHETIC_MANIFEST,
    detect_layout,
    group_by_identity,
    iter_samples,
    iter_synthetic,
)
from datasets.manifest import MANIFEST_COLUMNS, iter_csv
from datasets.socofing import (
    SOCOFING_ALTERATIONS,
    SOCOFING_DPI,
    iter_socofing,
    parse_socofing_name,
    socofing_position,
)

__all__ = ["FVC_NATIVE_DPI", "IMAGE_SUFFIXES", "LAYOUTS", "MANIFEST_COLUMNS", "SOCOFING_ALTERATIONS",
           "SOCOFING_DPI", "SYNTHETIC_MANIFEST", "DatasetError", "Sample", "detect_layout",
           "find_image_sets", "fvc_native_dpi", "group_by_identity", "iter_csv", "iter_fvc", "iter_samples", "iter_socofing",
           "iter_synthetic", "list_images", "parse_socofing_name", "socofing_position"]
