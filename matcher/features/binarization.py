"""Binarisation and thinning (Handbook §3.6-3.7).

The Gabor response is zero-mean, so ridges are its positive part (Hong et al. 1998). Tiny
blobs and pores are removed before thinning, which is scikit-image's skeletonisation
(Zhang & Suen 1984) — a one-pixel-wide, 8-connected ridge skeleton.
"""

from __future__ import annotations

import numpy as np
from skimage import morphology


def binarize(enhanced: np.ndarray, mask: np.ndarray, *, min_blob_px: int = 24) -> np.ndarray:
    """Ridge pixels, bool (H, W)."""
    ridges = (enhanced > 0) & mask
    ridges = morphology.remove_small_objects(ridges, max_size=min_blob_px)
    ridges = morphology.remove_small_holes(ridges, max_size=min_blob_px) & mask
    return ridges


def thin(ridges: np.ndarray) -> np.ndarray:
    """One-pixel-wide skeleton, bool (H, W)."""
    return morphology.skeletonize(ridges)
