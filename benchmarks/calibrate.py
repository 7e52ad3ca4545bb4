"""Score-to-FMR calibration table: ``python -m benchmarks calibrate [--dataset DIR] [--out FILE]``.

Builds a large impostor score sample and writes the thresholds that give each false match
rate, the table :mod:`matcher.matching.calibration` ships and interpolates.

Impostor comparisons (a finger is ``(set, finger id)``: fingers of different sets are
different fingers):

1. every pair of templates of different fingers of the same image set under ``DIR``
   (default ``$MATCHER_DATA/fvc2002``); images that fail to extract are left out;
2. ``--variants`` perturbed copies of every template (:func:`perturb`: rotation about the
   minutiae centroid, translation and a half-pixel position jitter; seeded) scored, as probes,
   against every template of the *other* fingers of its set, never against their own finger.
   The variants resample the rounding and hull effects of a new placement of the same
   minutiae; they are not new fingers, so below about 3 / (real pairs of a set) = 1e-3 the
   table describes the tail of the real pairs' scores smoothed by placement, not a larger
   population (docs/MATCHING.md, "Limits").

Pairs are taken within a set (``--pairs within``, the default) because one sensor's impostors
are the hard case a verification threshold must hold for: impostor pairs across sensors (a
different image size, contrast and distortion) score lower and, pooled in, made the thresholds
too permissive for every single sensor (measured: at the nominal FMR 1e-4, 0.14 % of db4_b's
impostors passed). ``--pairs across`` also adds the pairs of different sets.

For ``fmr`` = 1e-1, 5e-2, 2e-2, 1e-2, 5e-3, ... the threshold is the smallest score ``t`` with
``fraction(impostor >= t) <= fmr`` (:func:`threshold_at`); a table stops at the last ``fmr``
for which ``fmr * N >= 3`` impostor scores lie above the threshold (:data:`MIN_IMPOSTORS`).

With ``--pairs within`` a table is computed for each set (sensor) and the shipped threshold of
each ``fmr`` is the *largest* of them (:func:`worst_case_points`): the FMR then holds for every
one of the sensors, not only on average (sensors differ: at one common threshold, db4_b's
impostors pass about 10 times as often as db2_b's), at the price of some FNMR on the others.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from benchmarks._common import REPO, data_root, extract_all, format_rows, image_sets
from benchmarks._pairs import impostor_pairs, score_pairs
from datasets import iter_fvc
from datasets._cli import non_negative_int, positive_int
from matcher.errors import InvalidParameterError
from matcher.matching import Matcher
from matcher.template import Template

__all__ = ["add_parser", "run", "perturb", "fmr_steps", "threshold_at", "calibration_points",
           "worst_case_points", "impostor_scores", "MIN_IMPOSTORS", "DEFAULT_OUT"]

#: A table point needs at least this many impostor scores at or above its threshold.
MIN_IMPOSTORS = 3
#: Where the library looks for the table (:mod:`matcher.matching.calibration`).
DEFAULT_OUT = REPO / "matcher" / "matching" / "calibration.json"
#: Perturbation of the variants (:func:`perturb`).
ROTATION_MAX_RAD = math.pi / 6
TRANSLATION_MAX_PX = 30.0
# Mild on purpose: stronger jitter (2 px, 0.05 rad, 10 % of the minutiae dropped) made the
# variants less similar to the other finger than the real pairs are, and their 99.9 % quantile
# fell below the real one on db4_b (0.0248 against 0.0287); with these values the variants'
# quantiles match the real pairs' (0.0284 against 0.0287) on every set.
POSITION_JITTER_PX = 0.5
ANGLE_JITTER_RAD = 0.0
DROP_FRACTION = 0.0


def perturb(template: Template, rng: np.random.Generator) -> Template:
    """A plausible other capture of the same finger: moved, jittered, with minutiae missing.

    Rotation uniform in ``±ROTATION_MAX_RAD`` about the minutiae centroid (directions turn with
    it), translation uniform in ``±TRANSLATION_MAX_PX`` per axis, Gaussian jitter of
    ``POSITION_JITTER_PX`` per coordinate and ``ANGLE_JITTER_RAD`` per direction, a random
    ``DROP_FRACTION`` of the minutiae dropped (order kept); positions clipped to the image.

    Examples
    --------
    >>> t = Template(x=[10, 50, 90], y=[20, 60, 80], angle=[0.0, 1.0, 2.0], kind=[1, 2, 1],
    ...              quality=[90, 80, 70], width=100, height=100)
    >>> v = perturb(t, np.random.default_rng(0))
    >>> len(v), v.width, bool(v.x.max() < 100)
    (3, 100, True)
    """
    n = len(template)
    if n == 0:
        return template
    keep = np.sort(rng.choice(n, size=n - int(round(DROP_FRACTION * n)), replace=False))
    theta = rng.uniform(-ROTATION_MAX_RAD, ROTATION_MAX_RAD)
    shift = rng.uniform(-TRANSLATION_MAX_PX, TRANSLATION_MAX_PX, size=2)
    x, y = template.x[keep].astype(np.float64), template.y[keep].astype(np.float64)
    cx, cy = float(template.x.mean()), float(template.y.mean())
    # Counter-clockwise as the image is viewed (y grows downwards): angle = atan2(-dy, dx) gains theta.
    cos, sin = math.cos(theta), math.sin(theta)
    new_x = cx + cos * (x - cx) + sin * (y - cy) + shift[0] + rng.normal(0.0, POSITION_JITTER_PX, keep.size)
    new_y = cy - sin * (x - cx) + cos * (y - cy) + shift[1] + rng.normal(0.0, POSITION_JITTER_PX, keep.size)
    angle = template.angle[keep].astype(np.float64) + theta + rng.normal(0.0, ANGLE_JITTER_RAD, keep.size)
    return Template(x=np.clip(np.rint(new_x), 0, template.width - 1).astype(np.int16),
                    y=np.clip(np.rint(new_y), 0, template.height - 1).astype(np.int16),
                    angle=angle, kind=template.kind[keep], quality=template.quality[keep],
                    width=template.width, height=template.height, dpi=template.dpi,
                    image_quality=template.image_quality)


def fmr_steps() -> Iterator[float]:
    """1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, ... without end (values parsed from decimal text).

    Examples
    --------
    >>> list(itertools.islice(fmr_steps(), 7))
    [0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001]
    """
    yield 0.1
    for exponent in itertools.count(2):
        for mantissa in (5, 2, 1):
            yield float(f"{mantissa}e-{exponent}")


def threshold_at(sorted_scores: npt.NDArray[np.float32], fmr: float) -> float:
    """The smallest ``t`` with ``fraction(scores >= t) <= fmr``, scores ascending, float32.

    At most ``k = floor(fmr * N)`` scores may reach ``t``, so ``t`` is the float32 just above
    the ``(k+1)``-th largest score.

    Examples
    --------
    >>> threshold_at(np.array([0.1, 0.2, 0.3, 0.4], np.float32), 0.25) == float(np.nextafter(
    ...     np.float32(0.3), np.float32(1)))
    True
    """
    n = sorted_scores.size
    allowed = int(math.floor(fmr * n + 1e-9))
    return float(np.nextafter(sorted_scores[n - 1 - allowed], np.float32(np.inf)))


def calibration_points(scores: npt.ArrayLike) -> list[list[float]]:
    """``[[fmr, threshold], ...]`` over :func:`fmr_steps` while ``fmr * N >= MIN_IMPOSTORS``.

    Raises
    ------
    InvalidParameterError
        When ``scores`` is too small for even the first point (``0.1 * N < 3``).
    """
    ordered = np.sort(np.asarray(scores, dtype=np.float32).ravel())
    points = []
    for fmr in fmr_steps():
        if fmr * ordered.size < MIN_IMPOSTORS:
            break
        points.append([fmr, threshold_at(ordered, fmr)])
    if not points:
        raise InvalidParameterError(f"{ordered.size} impostor scores cannot calibrate FMR 0.1: "
                                    f"need at least {math.ceil(MIN_IMPOSTORS / 0.1)}")
    return points


def worst_case_points(tables: list[list[list[float]]]) -> list[list[float]]:
    """Per ``fmr`` the largest threshold of several tables, over the ``fmr`` every table holds.

    Examples
    --------
    >>> worst_case_points([[[0.1, 0.2], [0.05, 0.3]], [[0.1, 0.25]]])
    [[0.1, 0.25]]
    """
    shared = min(len(points) for points in tables)
    return [[tables[0][i][0], max(points[i][1] for points in tables)] for i in range(shared)]


def impostor_scores(templates: list[Template], fingers: list[tuple[str, str]], *, variants: int,
                    rng: np.random.Generator, threads: int | None = None, within_set: bool = True,
                    progress: bool = False) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The two impostor samples of the module docstring: cross-finger pairs, and perturbed variants.

    Parameters
    ----------
    templates : list of Template
        Grouped by finger (all templates of a finger consecutive).
    fingers : list of (set, finger id)
        The finger of each template.
    variants : int
        Perturbed copies of each template (0 for none).
    rng : numpy.random.Generator
        Drives :func:`perturb`.
    threads : int, optional
        ``score_many`` threads.
    within_set : bool
        Only pairs of templates of the same set (``fingers[i][0]``), the default; else every
        cross-finger pair.
    progress : bool
        tqdm bars on stderr.

    Returns
    -------
    pairs, perturbed : ndarray of float32
        Scores of the template pairs, and of the variants against other fingers' templates.
    """
    candidates = impostor_pairs(fingers, "all")
    if within_set:
        same_set = [fingers[i][0] == fingers[j][0] for i, j in candidates]
        candidates = candidates[np.asarray(same_set, dtype=bool).reshape(-1)]
    pairs = score_pairs(templates, candidates, matcher=Matcher, threads=threads,
                        progress=progress, desc="impostor pairs")
    others: dict[tuple[str, str], list[Template]] = {
        finger: [t for t, f in zip(templates, fingers, strict=True)
                 if f != finger and (not within_set or f[0] == finger[0])] for finger in set(fingers)}
    perturbed = []
    for template, finger in tqdm(list(zip(templates, fingers, strict=True)) if variants else [],
                                 desc="perturbed variants", unit="template", file=sys.stderr,
                                 disable=not progress, leave=False):
        for _ in range(variants):
            if others[finger]:
                perturbed.append(np.asarray(Matcher(perturb(template, rng)).score_many(
                    others[finger], threads=threads), dtype=np.float32))
    return pairs, (np.concatenate(perturbed) if perturbed else np.empty(0, np.float32))


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``calibrate`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "calibrate", help="score threshold for each false match rate, from a large impostor sample",
        description="Score every cross-finger pair within each image set under DIR, and perturbed variants "
                    "of every template against the other fingers of its set; write the [fmr, threshold] table.")
    parser.add_argument("--dataset", type=Path, metavar="DIR",
                        help="a folder of image sets (default: $MATCHER_DATA/fvc2002)")
    parser.add_argument("--variants", type=non_negative_int, default=40, metavar="K",
                        help="perturbed variants of each template (default: %(default)s)")
    parser.add_argument("--pairs", choices=("within", "across"), default="within",
                        help="impostor pairs within each image set (one sensor), or also across sets "
                             "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the perturbations (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="extraction workers and score_many threads (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE",
                        help="the table to write (default: matcher/matching/calibration.json)")
    parser.set_defaults(run=run)
    return parser




def run(args: argparse.Namespace) -> int:
    """Build the impostor sample, write the calibration table, print a summary; return the exit status."""
    dataset = args.dataset if args.dataset is not None else data_root() / "fvc2002"
    sets = image_sets(dataset, "calibrate", required=False)
    if sets is None:
        return 2
    progress = sys.stderr.isatty()
    templates: list[Template] = []
    fingers: list[tuple[str, str]] = []
    failures = 0
    for folder in sets:
        samples = list(iter_fvc(folder))
        extraction = extract_all([s.path for s in samples], threads=args.threads, progress=progress,
                                 desc=f"{folder.name} extract")
        failures += len(extraction.failures)
        for sample, template in zip(samples, extraction.templates, strict=True):
            if template is not None:
                templates.append(template)
                fingers.append((folder.name, sample.finger))
    if not templates:
        print(f"benchmarks calibrate: {dataset}: no templates to calibrate FMR 0.1 with", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    within = args.pairs == "within"
    groups = sorted({f[0] for f in fingers}) if within else [None]
    pairs_parts, perturbed_parts, tables, sizes = [], [], {}, {}
    for group in groups:
        members = [k for k, f in enumerate(fingers) if group is None or f[0] == group]
        pairs, perturbed = impostor_scores([templates[k] for k in members], [fingers[k] for k in members],
                                           variants=args.variants, rng=rng, threads=args.threads,
                                           within_set=within, progress=progress)
        pairs_parts.append(pairs)
        perturbed_parts.append(perturbed)
        sizes[group or "all"] = pairs.size + perturbed.size
        try:
            tables[group or "all"] = calibration_points(np.concatenate([pairs, perturbed]))
        except InvalidParameterError as exc:
            print(f"benchmarks calibrate: {dataset}{'/' + group if group else ''}: {exc}", file=sys.stderr)
            return 2
    pairs, perturbed = np.concatenate(pairs_parts), np.concatenate(perturbed_parts)
    scores = np.concatenate([pairs, perturbed])
    points = worst_case_points(list(tables.values()))
    table = {
        "format": "basma-calibration", "version": 1, "algorithm": Matcher.ALGORITHM,
        "impostor_comparisons": int(scores.size),
        "sources": [
            {"kind": f"cross-finger template pairs, {args.pairs} sets", "dataset": dataset.name,
             "sets": [p.name for p in sets],
             "templates": len(templates), "fingers": len(set(fingers)), "failures_to_extract": failures,
             "comparisons": int(pairs.size)},
            {"kind": f"perturbed variants against other fingers, {args.pairs} sets",
             "variants_per_template": args.variants,
             "seed": args.seed, "rotation_max_rad": ROTATION_MAX_RAD, "translation_max_px": TRANSLATION_MAX_PX,
             "position_jitter_px": POSITION_JITTER_PX, "angle_jitter_rad": ANGLE_JITTER_RAD,
             "drop_fraction": DROP_FRACTION, "comparisons": int(perturbed.size)},
        ],
        "min_impostors_per_point": MIN_IMPOSTORS,
        "combination": "largest threshold over the sets" if within else "one pooled sample",
        "per_set": tables if within else None,
        "created": date.today().isoformat(),
        "points": points,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=2) + "\n")
    print(f"calibrate: {dataset}; {Matcher.ALGORITHM}; {len(templates)} templates of {len(set(fingers))} "
          f"fingers in {len(sets)} sets ({failures} failures to extract)")
    print(f"impostor comparisons: {scores.size} ({pairs.size} template pairs + {perturbed.size} perturbed "
          f"variants); max impostor score {float(scores.max()):.4f}")
    smallest = points[-1][0]
    counts = ", ".join(f"{name} {size}" for name, size in sizes.items())
    print(f"smallest FMR in the table: {smallest:g} (a point needs fmr * N >= {MIN_IMPOSTORS} impostor "
          f"scores in every sample; N: {counts})")
    names = list(tables)
    rows = [[f"{f:g}", f"{t:.4f}"] + [f"{tables[n][i][1]:.4f}" for n in names] for i, (f, t) in enumerate(points)]
    print(format_rows(("FMR", "threshold") + (tuple(names) if within else ()),
                      [r if within else r[:2] for r in rows]))
    print(f"written: {args.out}")
    return 0
