"""Local grey-level normalisation (Hong, Wan & Jain 1998, §2.1, done locally).

Subtract a Gaussian local mean and divide by the local standard deviation, so that dry,
wet and low-pressure regions reach the same contrast before filtering.
"""

from __future__ import annotations

import numpy as np

from matcher.features._smoothing import smooth_coarse

_SIGMA_PX = 8.0
_FACTOR = 4


def normalize(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance pixels, float32 (H, W); background set to 0."""
    pixels = image.astype(np.float32)
    centred = pixels - smooth_coarse(pixels, _SIGMA_PX, _FACTOR)
    variance = smooth_coarse(centred * centred, _SIGMA_PX, _FACTOR)
    out = centred / np.sqrt(variance + 1.0)
    out[~mask] = 0.0
    return out
