"""Template-level synthetic fingerprints: master minutiae sets and their impressions, at scale.

The image generator (SFinGe) costs about a second per print; 1:N tests need millions. This
module skips the pixels and draws what :func:`matcher.extract` would have found:

* a **master** per finger (:func:`master`): an elliptical finger area (semi-axes
  ``semi_width_px`` x ``semi_height_px``), a Henry class with population frequencies and its
  singular points, the zero-pole orientation field (Sherlock & Monro 1993), minutiae as a
  hard-core point process (Matérn II, no two closer than ``min_spacing_px``) with a per-finger
  density, directions along the ridge orientation (either sense), kinds (ending/bifurcation)
  and a per-minutia reliability;
* **impressions** of a master (:func:`impression`): a contact region (a smaller ellipse,
  moved), minutiae missed (more where unreliable or near the contact border), spurious ones
  added, the non-linear skin distortion of Cappelli, Maio & Maltoni (2001), rotation and
  translation on a fixed ``canvas_width_px`` x ``canvas_height_px`` sensor, position and
  angle jitter, type flips, and a quality that falls towards the contact border.

Everything is a pure function of ``(seed, finger, impression, params)``: the master of finger
``f`` draws from ``SeedSequence([seed, f, 0])`` and its impression ``k`` from
``SeedSequence([seed, f, 1, k])``, so any template can be regenerated alone, in any order, by
any worker. :func:`iter_batches` yields :class:`~matcher.template.Template` objects;
:func:`write_store` writes a compact structure-of-arrays store (:class:`TemplateStore`) with a
process pool. The default parameters are calibrated against FVC2002 (``benchmarks synthetic``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from datasets.synthetic._template_kernels import MasterMinutiae, sample_impression, sample_master
from matcher.errors import InvalidParameterError, TemplateVersionError
from matcher.template import MAX_MINUTIAE, Template

__all__ = ["TemplateSynthesisParams", "DEFAULT_PARAMS", "MasterMinutiae", "master", "impression",
           "impression_arrays", "iter_batches", "generate_arrays", "write_store", "TemplateStore", "STORE_FORMAT",
           "STORE_VERSION"]

#: ``format`` and ``version`` of the store's ``meta.json``; other versions are refused.
STORE_FORMAT = "basma-synthetic-templates"
STORE_VERSION = 1
_FIELDS = {"x": np.int16, "y": np.int16, "angle": np.float32, "kind": np.uint8, "quality": np.uint8,
           "offsets": np.int64, "finger": np.int64, "impression": np.int16}


@dataclass(frozen=True)
class TemplateSynthesisParams:
    """Every tunable of the template generator, at 500 dpi (module docstring for the model)."""

    canvas_width_px: int = 400
    canvas_height_px: int = 500
    semi_width_px: tuple[float, float] = (125.0, 175.0)       # finger area, uniform ranges
    semi_height_px: tuple[float, float] = (150.0, 225.0)
    minutiae_per_px2: float = 1.0 / 1250.0                     # median density of the master
    density_log_sigma: float = 0.25                            # per-finger log-normal spread
    min_spacing_px: float = 9.0                                # hard-core distance
    base_orientation_sigma_rad: float = 0.1
    bifurcation_fraction: float = 0.4
    reliability_beta: tuple[float, float] = (4.0, 1.5)
    capture_noise_log_sigma: float = 0.45                      # per-impression factor on noise terms
    contact_offset_sigma_px: float = 20.0                      # contact region centre vs finger centre
    off_centre_probability: float = 0.1                        # captures placed far off-centre ...
    off_centre_factor: float = 3.0                             # ... with this times the offset sigma
    contact_fraction: tuple[float, float] = (0.75, 1.0)        # contact semi-axes / finger semi-axes
    miss_probability: float = 0.08
    miss_reliability_weight: float = 0.15
    miss_border_weight: float = 0.3
    border_depth: float = 0.15                                 # of 1 - (x/a)^2 - (y/b)^2
    spurious_fraction: float = 0.12                            # of the minutiae kept
    spurious_angle_sigma_rad: float = 0.3
    spurious_reliability_beta: tuple[float, float] = (2.0, 3.0)
    kind_flip_probability: float = 0.1
    contact_radius_px: float = 60.0                            # Cappelli 2001: undistorted core
    distortion_brake_px: float = 60.0
    distortion_rotation_sigma_rad: float = 0.05
    distortion_shift_sigma_px: float = 5.0
    rotation_sigma_rad: float = math.radians(10.0)
    rotation_max_rad: float = math.radians(30.0)
    translation_sigma_px: float = 15.0
    position_jitter_px: float = 1.25
    angle_jitter_rad: float = 0.08
    min_minutiae: int = 12                                     # fewer: the capture is retaken ...
    max_attempts: int = 8                                      # ... at most this many times in all
    dpi: int = 500


DEFAULT_PARAMS = TemplateSynthesisParams()


def _check_index(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidParameterError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def master(seed: int, finger: int, *, params: TemplateSynthesisParams | None = None) -> MasterMinutiae:
    """The master minutiae set of ``finger`` (coordinates centred on the finger area).

    Raises
    ------
    InvalidParameterError
        When ``seed`` or ``finger`` is not a non-negative integer.

    Examples
    --------
    >>> m = master(0, 7)
    >>> bool(m.x.size > 20), m.x.shape == m.angle.shape == m.kind.shape
    (True, True)
    """
    seq = np.random.SeedSequence([_check_index(seed, "seed"), _check_index(finger, "finger"), 0])
    return sample_master(np.random.default_rng(seq), params or DEFAULT_PARAMS)


def impression_arrays(finger_master: MasterMinutiae, seed: int, finger: int, impression: int,
                      params: TemplateSynthesisParams | None = None) -> tuple[np.ndarray, ...]:
    """``x, y`` (int16), ``angle`` (float32), ``kind``, ``quality`` (uint8) of one impression.

    Minutiae off the canvas are cropped; a capture left with fewer than ``min_minutiae`` is
    retaken (``SeedSequence([seed, finger, 1, impression, attempt])``, up to ``max_attempts``,
    as an enrolment station would). The minutiae are sorted by quality, best first (as
    :func:`matcher.extract` returns them), at most ``MAX_MINUTIAE``.
    """
    p = params or DEFAULT_PARAMS
    for attempt in range(p.max_attempts):  # a capture with too few minutiae is retaken
        seq = np.random.SeedSequence([seed, finger, 1, impression] + ([attempt] if attempt else []))
        x, y, angle, kind, quality = sample_impression(finger_master, np.random.default_rng(seq), p)
        x, y = np.rint(x), np.rint(y)
        on = (x >= 0) & (x < p.canvas_width_px) & (y >= 0) & (y < p.canvas_height_px)
        if np.count_nonzero(on) >= p.min_minutiae:
            break
    order = np.flatnonzero(on)[np.argsort(-quality[on].astype(np.int64), kind="stable")][:MAX_MINUTIAE]
    return (x[order].astype(np.int16), y[order].astype(np.int16),
            np.mod(angle[order], 2.0 * np.pi).astype(np.float32) % np.float32(2.0 * np.pi),
            kind[order], quality[order])


def _template(arrays: tuple[np.ndarray, ...], p: TemplateSynthesisParams) -> Template:
    x, y, angle, kind, quality = arrays
    return Template(x=x, y=y, angle=angle, kind=kind, quality=quality, width=p.canvas_width_px,
                    height=p.canvas_height_px, dpi=p.dpi,
                    image_quality=int(np.median(quality)) if quality.size else 0)


def impression(seed: int, finger: int, impression: int, *,
               params: TemplateSynthesisParams | None = None) -> Template:
    """Impression ``impression`` of ``finger``: a :class:`~matcher.template.Template`.

    Examples
    --------
    >>> from matcher.matching import Matcher
    >>> a, b, other = impression(0, 3, 0), impression(0, 3, 1), impression(0, 4, 0)
    >>> a == impression(0, 3, 0), a.width, a.height
    (True, 400, 500)
    >>> bool(Matcher(a).score(b) > Matcher(a).score(other))
    True
    """
    p = params or DEFAULT_PARAMS
    k = _check_index(impression, "impression")
    return _template(impression_arrays(master(seed, finger, params=p), seed, finger, k, p), p)


def iter_batches(seed: int, fingers: int, impressions: int, *, first_finger: int = 0, batch_size: int = 1024,
                 params: TemplateSynthesisParams | None = None) -> Iterator[list[tuple[int, int, Template]]]:
    """Lists of ``(finger, impression, template)``, finger by finger, ``batch_size`` at most each.

    Examples
    --------
    >>> batches = list(iter_batches(1, fingers=3, impressions=2, batch_size=4))
    >>> [len(b) for b in batches], [(f, k) for f, k, _ in batches[1]]
    ([4, 2], [(2, 0), (2, 1)])
    """
    p = params or DEFAULT_PARAMS
    seed, fingers, impressions = _check_index(seed, "seed"), _check_index(fingers, "fingers"), \
        _check_index(impressions, "impressions")
    if _check_index(batch_size, "batch_size") == 0:
        raise InvalidParameterError("batch_size must be positive, got 0")
    batch: list[tuple[int, int, Template]] = []
    for finger in range(first_finger, first_finger + fingers):
        finger_master = master(seed, finger, params=p)
        for k in range(impressions):
            batch.append((finger, k, _template(impression_arrays(finger_master, seed, finger, k, p), p)))
            if len(batch) == batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def generate_arrays(seed: int, first_finger: int, fingers: int, impressions: int,
                    params: TemplateSynthesisParams | None = None) -> dict[str, np.ndarray]:
    """The store's arrays (:class:`TemplateStore`) for fingers ``first_finger ..+ fingers``; ``offsets`` start at 0."""
    p = params or DEFAULT_PARAMS
    parts: list[tuple[np.ndarray, ...]] = []
    for finger in range(first_finger, first_finger + fingers):
        finger_master = master(seed, finger, params=p)
        parts.extend(impression_arrays(finger_master, seed, finger, k, p) for k in range(impressions))
    counts = np.array([part[0].size for part in parts], dtype=np.int64)
    out = {name: np.concatenate([part[i] for part in parts]).astype(_FIELDS[name])
           for i, name in enumerate(("x", "y", "angle", "kind", "quality"))}
    out["offsets"] = np.r_[0, np.cumsum(counts)].astype(np.int64)
    out["finger"] = np.repeat(np.arange(first_finger, first_finger + fingers, dtype=np.int64), impressions)
    out["impression"] = np.tile(np.arange(impressions, dtype=np.int16), fingers)
    return out


def _generate_chunk(job: tuple[int, int, int, int, TemplateSynthesisParams]) -> dict[str, np.ndarray]:
    return generate_arrays(*job)


def write_store(path: str | os.PathLike[str], *, seed: int, fingers: int, impressions: int, workers: int = 2,
                chunk_fingers: int = 2000, params: TemplateSynthesisParams | None = None) -> TemplateStore:
    """Generate ``fingers x impressions`` templates with ``workers`` processes into the folder ``path``.

    The folder gets ``meta.json`` (format, version, seed, parameters, canvas, counts) and one
    ``.npy`` per field: the minutiae of every template concatenated (``x``, ``y`` int16,
    ``angle`` float32, ``kind``, ``quality`` uint8), template ``i`` spanning
    ``offsets[i]:offsets[i + 1]``, with its ``finger`` and ``impression``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = write_store(folder, seed=0, fingers=3, impressions=2, workers=1)
    ...     len(store), store.template(3) == impression(0, 1, 1)
    (6, True)
    """
    p = params or DEFAULT_PARAMS
    seed, fingers, impressions = (_check_index(v, n) for v, n in
                                  ((seed, "seed"), (fingers, "fingers"), (impressions, "impressions")))
    step = max(1, int(chunk_fingers))
    jobs = [(seed, start, min(step, fingers - start), impressions, p) for start in range(0, fingers, step)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunks = list(pool.map(_generate_chunk, jobs))
    else:
        chunks = [_generate_chunk(job) for job in jobs]
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    base = np.cumsum([0] + [c["offsets"][-1] for c in chunks[:-1]]) if chunks else []
    merged = {name: np.concatenate([c[name] for c in chunks]) if chunks else np.empty(0, dtype)
              for name, dtype in _FIELDS.items() if name != "offsets"}
    merged["offsets"] = np.concatenate([np.zeros(1, np.int64)]
                                       + [c["offsets"][1:] + b for c, b in zip(chunks, base, strict=True)])
    for name, values in merged.items():
        np.save(folder / f"{name}.npy", values.astype(_FIELDS[name]))
    meta = {"format": STORE_FORMAT, "version": STORE_VERSION, "seed": seed, "fingers": fingers,
            "impressions": impressions, "templates": fingers * impressions,
            "minutiae": int(merged["offsets"][-1]), "width": p.canvas_width_px,
            "height": p.canvas_height_px, "dpi": p.dpi, "params": asdict(p)}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return TemplateStore(folder)


class TemplateStore:
    """A store written by :func:`write_store`, its arrays memory-mapped read-only.

    Attributes ``x, y, angle, kind, quality, offsets, finger, impression`` are the arrays of
    :func:`write_store`; ``meta`` is the parsed ``meta.json``.

    Raises
    ------
    TemplateVersionError
        When ``meta.json`` names another format or an unknown version.
    """

    def __init__(self, path: str | os.PathLike[str], *, mmap: bool = True) -> None:
        folder = Path(path)
        self.meta: dict[str, Any] = json.loads((folder / "meta.json").read_text())
        if self.meta.get("format") != STORE_FORMAT or self.meta.get("version") != STORE_VERSION:
            raise TemplateVersionError(f"{folder}: not a {STORE_FORMAT} store of version {STORE_VERSION} "
                                       f"(format {self.meta.get('format')!r}, version {self.meta.get('version')!r})")
        for name in _FIELDS:
            setattr(self, name, np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None))

    x: npt.NDArray[np.int16]
    y: npt.NDArray[np.int16]
    angle: npt.NDArray[np.float32]
    kind: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.uint8]
    offsets: npt.NDArray[np.int64]
    finger: npt.NDArray[np.int64]
    impression: npt.NDArray[np.int16]

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def template(self, i: int) -> Template:
        """Template ``i`` (0 <= i < len(self)) as a :class:`~matcher.template.Template`."""
        if not 0 <= i < len(self):
            raise InvalidParameterError(f"template index must be in 0..{len(self) - 1}, got {i}")
        s = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        quality = np.asarray(self.quality[s])
        return Template(x=self.x[s], y=self.y[s], angle=self.angle[s], kind=self.kind[s], quality=quality,
                        width=self.meta["width"], height=self.meta["height"], dpi=self.meta["dpi"],
                        image_quality=int(np.median(quality)) if quality.size else 0)
