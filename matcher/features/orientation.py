"""Ridge orientation field with coherence.

Least-squares orientation from averaged squared gradients (Kass & Witkin 1987; Bazen &
Gerez, IEEE TPAMI 24(7) 2002, eq. 3-6; Handbook §3.2.1): with moments
``Gxx = <gx^2>``, ``Gyy = <gy^2>``, ``Gxy = <gx gy>`` the dominant gradient direction is
``0.5 * atan2(2 Gxy, Gxx - Gyy)`` and the ridge runs perpendicular to it. Coherence
``sqrt((Gxx - Gyy)^2 + 4 Gxy^2) / (Gxx + Gyy)`` measures how well one direction explains
the gradients (1 = parallel ridges, 0 = noise). A second, coherence-weighted averaging of
the doubled-angle vectors repairs scars and creases (Handbook §3.2.2).

The gradients are taken at full resolution; the moments, being averages over ~5 px, are
accumulated on a 2x coarser grid and interpolated back.

Angles here are in array coordinates: a direction ``phi`` is the vector
``(d_col, d_row) = (cos phi, sin phi)``, ``phi`` in ``[0, pi)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from matcher.features import _kernels
from matcher.params import OrientationParams

_FACTOR = 2


def orientation_field(normalized: np.ndarray, mask: np.ndarray,
                      params: OrientationParams) -> tuple[np.ndarray, np.ndarray]:
    """Ridge orientation (rad, [0, pi)) and coherence ([0, 1]), both float32 (H, W)."""
    smooth = ndi.gaussian_filter(normalized, params.gradient_sigma_px, truncate=3.0)
    sigma = params.window_sigma_px / _FACTOR
    gxx, gyy, gxy = (ndi.gaussian_filter(m, sigma, mode="nearest", truncate=3.0)
                     for m in _kernels.gradient_moments(smooth, _FACTOR))
    diff = gxx - gyy
    strength = np.sqrt(diff * diff + 4.0 * gxy * gxy)
    coherence = np.clip(strength / np.maximum(gxx + gyy, 1e-6), 0.0, 1.0)
    # doubled-angle unit vectors of the gradient, weighted by coherence, smoothed again
    weight = coherence * _kernels.block_mean(mask.astype(np.float32), _FACTOR)
    unit = weight / np.maximum(strength, 1e-6)
    sigma = params.smoothing_sigma_px / _FACTOR
    cos2 = ndi.gaussian_filter(diff * unit, sigma, mode="nearest", truncate=3.0)
    sin2 = ndi.gaussian_filter(2.0 * gxy * unit, sigma, mode="nearest", truncate=3.0)
    h, w = normalized.shape
    cos2 = _kernels.upsample_bilinear(cos2.astype(np.float32), _FACTOR, h, w)
    sin2 = _kernels.upsample_bilinear(sin2.astype(np.float32), _FACTOR, h, w)
    ridge = np.mod(0.5 * np.arctan2(sin2, cos2) + np.pi / 2.0, np.pi)
    coherence = _kernels.upsample_bilinear(coherence.astype(np.float32), _FACTOR, h, w)
    return ridge.astype(np.float32), coherence
