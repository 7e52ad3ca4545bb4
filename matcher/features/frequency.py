"""Ridge frequency map (Hong, Wan & Jain 1998, §2.4).

The period is measured per block from the x-signature of an oriented window (see
``_kernels.ridge_periods``); blocks without a clean signature are filled by normalised
convolution from their valid neighbours (Handbook §3.3), then the map is interpolated to
every pixel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from matcher.features import _kernels
from matcher.params import FrequencyParams


def frequency_map(normalized: np.ndarray, mask: np.ndarray, orientation: np.ndarray,
                  params: FrequencyParams) -> tuple[np.ndarray, float]:
    """Ridge frequency (cycles per pixel, float32 (H, W)) and the fraction of foreground
    blocks whose period could be measured (used by the image quality score)."""
    block = params.block_px
    periods = _kernels.ridge_periods(
        normalized, mask, orientation, block, params.window_length_px, params.window_width_px,
        params.min_period_px, params.max_period_px)
    h, w = normalized.shape
    block_mask = mask[np.minimum(np.arange(periods.shape[0]) * block + block // 2, h - 1)][
        :, np.minimum(np.arange(periods.shape[1]) * block + block // 2, w - 1)]
    valid = periods > 0
    foreground_blocks = int(block_mask.sum())
    valid_fraction = float(valid.sum()) / foreground_blocks if foreground_blocks else 0.0
    sigma_blocks = params.smoothing_sigma_px / block
    weight = ndi.gaussian_filter(valid.astype(np.float32), sigma_blocks, mode="constant")
    summed = ndi.gaussian_filter(np.where(valid, periods, 0.0).astype(np.float32), sigma_blocks,
                                 mode="constant")
    filled = np.where(weight > 1e-3, summed / np.maximum(weight, 1e-3), params.default_period_px)
    filled = np.clip(filled, params.min_period_px, params.max_period_px)
    period = _kernels.upsample_bilinear(filled.astype(np.float32), block, h, w)
    return (1.0 / period).astype(np.float32), valid_fraction
