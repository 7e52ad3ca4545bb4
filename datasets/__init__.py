"""Fingerprint datasets on disk: loaders that turn folders of images into samples.

Only the benchmarks and tests use this package; the library (:mod:`matcher`) never imports it.
"""

from datasets.folders import (
    FVC_NATIVE_DPI,
    IMAGE_SUFFIXES,
    Sample,
    find_image_sets,
    fvc_native_dpi,
    iter_fvc,
    list_images,
)

__all__ = ["FVC_NATIVE_DPI", "IMAGE_SUFFIXES", "Sample", "find_image_sets", "fvc_native_dpi",
           "iter_fvc", "list_images"]
