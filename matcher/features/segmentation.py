"""Foreground segmentation: where the finger touched the sensor.

Ridges produce strong, locally consistent grey-level gradients; background (bare sensor,
latent smudges, noise) does not. We threshold the smoothed gradient energy (Bazen & Gerez,
"Segmentation of fingerprint images", ProRISC 2001; Handbook §3.4) with a threshold
derived from Otsu's method on its logarithm, clean the mask with morphology on a 4x
coarser grid (closing, hole filling, opening, largest region), and shrink it slightly so
its border stays inside the print.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, morphology

from matcher.features import _kernels
from matcher.params import SegmentationParams

_FACTOR = 4  # coarse grid step in pixels


def _disk(radius_px: float) -> np.ndarray:
    return morphology.disk(max(int(round(radius_px / _FACTOR)), 1)).astype(bool)


def segment(image: np.ndarray, params: SegmentationParams) -> np.ndarray:
    """Foreground mask, bool (H, W); all False when no usable print area is found."""
    gxx, gyy, _ = _kernels.gradient_moments(image.astype(np.float32), _FACTOR)
    energy = gxx + gyy
    energy = ndi.gaussian_filter(energy, params.energy_sigma_px / _FACTOR, mode="nearest")
    log_energy = np.log1p(energy)
    if float(log_energy.max() - log_energy.min()) < 1e-3:
        return np.zeros(image.shape, dtype=bool)
    otsu = filters.threshold_otsu(log_energy)
    floor = float(np.percentile(log_energy, 2))
    coarse = log_energy > otsu - params.threshold_scale * (otsu - floor)
    # closing with edge padding, so print regions touching the image border are kept
    pad = _disk(params.closing_radius_px).shape[0]
    coarse = ndi.binary_closing(np.pad(coarse, pad, mode="edge"),
                                _disk(params.closing_radius_px))[pad:-pad, pad:-pad]
    coarse = ndi.binary_fill_holes(coarse)
    coarse = ndi.binary_opening(coarse, _disk(params.opening_radius_px))
    labels, count = ndi.label(coarse)
    if count == 0:
        return np.zeros(image.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    coarse = labels == int(np.argmax(sizes))
    if params.erosion_px:
        coarse = ndi.binary_erosion(coarse, _disk(params.erosion_px), border_value=1)
    mask = _kernels.upsample_bilinear(coarse.astype(np.float32), _FACTOR, *image.shape) > 0.5
    if int(mask.sum()) < params.min_area_px:
        return np.zeros(image.shape, dtype=bool)
    return mask
