"""Wide Gaussian smoothing done on a coarser grid.

Maps that vary slowly (local mean and variance, gradient moments, gradient energy) are
smoothed with sigmas of 5-8 px; computing them on a grid ``factor`` times coarser (block
means, Gaussian with ``sigma / factor``, bilinear interpolation back) gives the same
field to within interpolation error at a fraction of the cost of full-resolution filters.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from matcher.features import _kernels


def smooth_coarse(image: np.ndarray, sigma_px: float, factor: int) -> np.ndarray:
    """Gaussian smoothing of ``image`` (float32 (H, W)) computed on a coarser grid."""
    coarse = _kernels.block_mean(np.ascontiguousarray(image, dtype=np.float32), factor)
    coarse = ndi.gaussian_filter(coarse, sigma_px / factor, mode="nearest", truncate=3.0)
    return _kernels.upsample_bilinear(coarse, factor, image.shape[0], image.shape[1])
