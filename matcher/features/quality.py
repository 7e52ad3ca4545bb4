"""Per-minutia and image quality scores, 0-100.

Minutia quality (reliability that the minutia is real and well located) combines the local
orientation coherence, which is high where ridges are clear and parallel (the
orientation-certainty feature of NFIQ 2, ISO/IEC 29794-4 §6), and the distance to the
foreground border, where ridges are cut and false endings appear (NBIS mindtct lowers
reliability near low-quality and border blocks in the same spirit).

Image quality (see docs/QUALITY.md for its meaning in terms of matching error) is a
weighted geometric mean of four terms, each in [0, 1]:

* area:       usable foreground area relative to 60,000 px (about 12 x 12 mm at 500 dpi);
* clarity:    mean orientation coherence over the foreground;
* frequency:  the fraction of foreground blocks with a measurable ridge period;
* minutiae:   reliable minutiae (quality >= 40) relative to 30.
"""

from __future__ import annotations

import numpy as np

from matcher.features.minutiae import Candidates
from matcher.params import MinutiaeParams

_AREA_REFERENCE_PX = 60000.0
_RELIABLE_MINUTIA = 40
_MINUTIAE_REFERENCE = 30.0
_WEIGHTS = {"area": 0.25, "clarity": 0.35, "frequency": 0.2, "minutiae": 0.2}


def _coherence_term(coherence: np.ndarray) -> np.ndarray:
    return np.clip((coherence - 0.2) / 0.5, 0.0, 1.0)


def minutia_quality(cand: Candidates, border_distance: np.ndarray, coherence: np.ndarray,
                    params: MinutiaeParams) -> np.ndarray:
    """Quality 0-100 (float64) of each candidate."""
    clarity = _coherence_term(coherence[cand.row, cand.col].astype(np.float64))
    inside = np.clip(border_distance / (3.0 * params.border_distance_px), 0.0, 1.0)
    return 100.0 * clarity ** 0.7 * (0.4 + 0.6 * inside) ** 0.5


def image_quality(mask: np.ndarray, coherence: np.ndarray, valid_frequency: float,
                  minutia_qualities: np.ndarray) -> int:
    """Image quality 0-100 (see the module docstring and docs/QUALITY.md)."""
    area = float(mask.sum())
    if area == 0:
        return 0
    terms = {
        "area": min(area / _AREA_REFERENCE_PX, 1.0),
        "clarity": float(_coherence_term(coherence[mask]).mean()),
        "frequency": min(max(valid_frequency, 0.0), 1.0),
        "minutiae": min(float((minutia_qualities >= _RELIABLE_MINUTIA).sum()) / _MINUTIAE_REFERENCE, 1.0),
    }
    score = 1.0
    for name, weight in _WEIGHTS.items():
        score *= max(terms[name], 1e-3) ** weight
    return int(round(100.0 * score))
