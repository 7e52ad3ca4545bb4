"""1:N identification: ``python -m benchmarks identify --gallery-size N [--dataset DIR] --out OUTDIR``.

The gallery holds impression 0 of ``N`` synthetic fingers (:mod:`datasets.synthetic.templates`;
the distractors) plus, with ``--dataset``, impression 1 of every real finger of each FVC set
under it (extracted here). Probes are impression 1 of the first ``--probes`` synthetic fingers
and impressions 2-8 of the real fingers; a probe is a hit at rank r when its own finger is
among the first r candidates. Each probe is searched in ``index`` mode (FAISS shortlist +
native re-scoring, :class:`matcher.index.Gallery`) and, on the first ``--exhaustive-probes``
probes of each kind, in ``exhaustive`` mode (every finger scored; its search forms are cached,
about 45 KB a finger, so keep it to galleries that fit in RAM) — the same probes, same run.
Then the synthetic probes' own fingers are removed from the index gallery and the probes searched
again: the latency of non-mated searches (a duplicate check of someone not enrolled), which take
the index's second pass whenever no candidate is a confident mate.

Prints a table and writes ``OUTDIR/report.json`` (keys in the module's ``_KEYS``; rates are
fractions, latencies per probe with all cores).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import extract_all, format_rows, image_sets, latency_ms
from benchmarks._plots import plot_scale
from benchmarks.speed import cpu_name
from datasets import list_images
from datasets._cli import non_negative_int, positive_int
from datasets.synthetic.templates import TemplateStore, write_store
from matcher.index import Gallery
from matcher.matching import Matcher, _native
from matcher.params import IndexParams
from matcher.template import FingerPosition, Template

__all__ = ["add_parser", "run", "run_scale"]

_KEYS = ("gallery_size", "probes", "build_s", "bytes_per_template", "rank1_index", "rank10_index",
         "penetration_index", "p50_ms_index", "p99_ms_index", "probes_per_s_index", "rank1_exhaustive",
         "p50_ms_exhaustive", "p50_ms_index_nonmated", "p99_ms_index_nonmated", "second_pass_share_index",
         "second_pass_share_index_nonmated")
SEED = 20261126
#: Gallery fingers per native call of the exhaustive pass.
_PASS_CHUNK = 65536
#: Exhaustive-mode latency is measured on galleries up to this size (its cache: 45 KB a finger) ...
_CACHED_MAX = 200_000
#: ... on this many probes of each kind.
_LATENCY_PROBES = 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``identify`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "identify", help="1:N identification: FAISS index vs exhaustive, rank-1/10, latency, memory",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("--gallery-size", type=non_negative_int, default=10_000,
                        help="synthetic fingers enrolled as distractors (default 10000)")
    parser.add_argument("--dataset", type=Path, help="folder of FVC sets (e.g. ../shared/datasets/fvc2002)")
    parser.add_argument("--probes", type=non_negative_int, default=200, help="synthetic probes (default 200)")
    parser.add_argument("--k", type=positive_int, default=10, help="candidates per search (default 10)")
    parser.add_argument("--mode", choices=("index", "exhaustive", "both"), default="both")
    parser.add_argument("--exhaustive-probes", type=non_negative_int, default=100,
                        help="probes of each kind (synthetic, real) also searched exhaustively (default 100)")
    parser.add_argument("--shortlist", type=positive_int, default=IndexParams.shortlist,
                        help=f"fingers re-scored per probe in index mode (default {IndexParams.shortlist})")
    parser.add_argument("--neighbours", type=positive_int, default=IndexParams.neighbours,
                        help=f"gallery cylinders retrieved per probe minutia up to a million codes, growing with "
                             f"the square root of the code count beyond (default {IndexParams.neighbours})")
    parser.add_argument("--second-pass-shortlist", type=non_negative_int, default=IndexParams.second_pass_shortlist,
                        help="fingers with the most votes re-scored in the second pass of a probe with no confident "
                             f"mate in the shortlist, 0: none (default {IndexParams.second_pass_shortlist})")
    parser.add_argument("--second-pass-score-shortlist", type=non_negative_int,
                        default=IndexParams.second_pass_score_shortlist,
                        help="fingers with the largest code-similarity sums re-scored in the second pass too, 0: none "
                             f"(default {IndexParams.second_pass_score_shortlist})")
    parser.add_argument("--second-pass-depth", type=float, default=IndexParams.second_pass_depth,
                        help="neighbours of a probe cylinder in the second pass, times the first pass's "
                             f"(default {IndexParams.second_pass_depth:g})")
    parser.add_argument("--second-pass-scan-codes", type=positive_int, default=IndexParams.second_pass_scan_codes,
                        help="codes the second pass compares each probe cylinder with: all of them (an exact "
                             "search) up to this many, else those of its nearest IVF lists (default "
                             f"{IndexParams.second_pass_scan_codes})")
    parser.add_argument("--second-pass-probe-lists", type=non_negative_int, default=IndexParams.second_pass_probe_lists,
                        help="IVF lists scanned per probe cylinder in the second pass, instead of "
                             "--second-pass-scan-codes (default 0: from it)")
    parser.add_argument("--probe-lists", type=positive_int, default=IndexParams.probe_lists,
                        help=f"IVF lists scanned per probe cylinder (default {IndexParams.probe_lists})")
    parser.add_argument("--store", type=Path, help="synthetic template store to reuse or create (default: temporary)")
    parser.add_argument("--workers", type=positive_int, default=2, help="processes generating templates")
    parser.add_argument("--out", type=Path, default=Path("out/identify"), help="output folder")
    parser.set_defaults(run=run)
    scale = subparsers.add_parser(
        "identify-scale", help="table and plot of several identify reports (the 1:N scale curve)",
        description="Read OUTDIR/report.json of several `identify` runs; print a markdown table and write a "
                    "PNG of latency and index memory against gallery size.")
    scale.add_argument("reports", type=Path, nargs="+", help="identify output folders")
    scale.add_argument("--png", type=Path, default=Path("out/identify-scale.png"), help="plot to write")
    scale.set_defaults(run=run_scale)
    return parser


_SCALE_COLUMNS = (("gallery_size", "fingers", "{:,}"), ("build_s", "build s", "{:.0f}"),
                  ("bytes_per_template", "index B/finger", "{:.0f}"), ("max_rss_mb", "peak RSS MB", "{:.0f}"),
                  ("p50_ms_index", "index p50 ms", "{:.0f}"), ("p99_ms_index", "index p99 ms", "{:.0f}"),
                  ("p50_ms_index_nonmated", "non-mated p50 ms", "{:.0f}"),
                  ("second_pass_share_index", "second passes", "{:.2f}"),
                  ("rank1_index", "index rank-1", "{:.3f}"), ("rank1_exhaustive", "exh. rank-1", "{:.3f}"),
                  ("index_keeps_exhaustive_rank1", "kept", "{:.3f}"), ("p50_ms_exhaustive", "exh. p50 ms", "{:.0f}"),
                  ("real_rank1_index", "real index rank-1", "{:.3f}"),
                  ("real_rank1_exhaustive", "real exh. rank-1", "{:.3f}"))


def run_scale(args: argparse.Namespace) -> int:
    reports = sorted((json.loads((folder / "report.json").read_text()) for folder in args.reports),
                     key=lambda r: r["gallery_size"])
    header = [title for _, title, _ in _SCALE_COLUMNS]
    rows = [[spec.format(r[key]) if r.get(key) is not None else "-" for key, _, spec in _SCALE_COLUMNS]
            for r in reports]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    print("\n".join("| " + " | ".join(row) + " |" for row in rows))
    sizes = [r["gallery_size"] for r in reports]
    plot_scale(sizes, [("index p50", [r.get("p50_ms_index") for r in reports]),
                       ("index p99", [r.get("p99_ms_index") for r in reports]),
                       ("index p50, not enrolled", [r.get("p50_ms_index_nonmated") for r in reports]),
                       ("exhaustive p50", [r.get("p50_ms_exhaustive") for r in reports])],
               [r.get("bytes_per_template") for r in reports], args.png)
    print(f"wrote {args.png}", file=sys.stderr)
    return 0


def _synthetic(args: argparse.Namespace, folder: Path) -> tuple[TemplateStore | None, float]:
    """A store of impressions 0 and 1 of ``--gallery-size`` fingers, generated unless it exists
    (None, after saying why, when ``folder`` holds another gallery)."""
    start = time.perf_counter()
    meta = folder / "meta.json"
    if meta.exists():
        found = json.loads(meta.read_text())
        if (found.get("seed"), found.get("fingers"), found.get("impressions")) == (SEED, args.gallery_size, 2):
            return TemplateStore(folder), 0.0
        print(f"identify: --store {folder} holds another gallery ({found.get('fingers')} fingers, seed "
              f"{found.get('seed')}); pick an empty folder", file=sys.stderr)
        return None, 0.0
    write_store(folder, seed=SEED, fingers=args.gallery_size, impressions=2, workers=args.workers)
    return TemplateStore(folder), time.perf_counter() - start


def _real(dataset: Path) -> tuple[list[tuple[str, Template]], list[tuple[str, Template]]]:
    """``(enrolled, probes)`` of every FVC set under ``dataset``: impression 1 enrolled, 2-8 probes."""
    enrolled, probes = [], []
    for folder in image_sets(dataset, "identify") or []:
        paths = list_images(folder)
        templates = extract_all(paths, threads=2).templates
        for path, template in zip(paths, templates, strict=True):
            finger, _, impression = path.stem.partition("_")
            if template is None:
                continue
            subject = f"{folder.name}/{finger}"
            (enrolled if impression == "1" else probes).append((subject, template))
    return enrolled, probes


def _search(gallery: Gallery, probes: list[tuple[str, Template]], k: int) -> dict[str, Any]:
    ranks, times = [], []
    second_passes = gallery.second_passes
    for subject, probe in probes:
        start = time.perf_counter()
        found = gallery.search(probe, k=k)
        times.append(time.perf_counter() - start)
        names = [c.subject for c in found]
        ranks.append(names.index(subject) + 1 if subject in names else 0)
    r = np.array(ranks)
    return {"rank1": float(np.mean(r == 1)) if len(r) else None,
            "rank10": float(np.mean((r >= 1) & (r <= 10))) if len(r) else None, **latency_ms(times),
            "probes_per_s": float(len(times) / sum(times)) if times else None, "ranks": ranks,
            "second_pass_share": (gallery.second_passes - second_passes) / max(1, len(probes))}


def run(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="basma-identify-") as temp:
        store, generation_s = _synthetic(args, args.store or Path(temp) / "store")
        if store is None:
            return 2
        n = args.gallery_size
        distractors = [(f"synthetic/{f}", store.template(2 * f)) for f in range(n)]
        synthetic_probes = [(f"synthetic/{f}", store.template(2 * f + 1)) for f in range(min(args.probes, n))]
    real_enrolled, real_probes = _real(args.dataset) if args.dataset else ([], [])
    records = [(subject, {FingerPosition.UNKNOWN: t}) for subject, t in distractors + real_enrolled]
    kinds = {"synthetic": synthetic_probes, "real": real_probes}
    report: dict[str, Any] = {"gallery_size": len(records), "distractors": n, "generation_s": generation_s,
                              "probes": sum(map(len, kinds.values())), "cpu": cpu_name(),
                              "machine": platform.machine(), "k": args.k}
    if args.mode in ("index", "both"):
        params = IndexParams(shortlist=args.shortlist, neighbours=args.neighbours, probe_lists=args.probe_lists,
                             second_pass_shortlist=args.second_pass_shortlist,
                             second_pass_score_shortlist=args.second_pass_score_shortlist,
                             second_pass_depth=args.second_pass_depth,
                             second_pass_scan_codes=args.second_pass_scan_codes,
                             second_pass_probe_lists=args.second_pass_probe_lists)
        start = time.perf_counter()
        gallery = Gallery(mode="index", index_params=params)
        gallery.add_many(records)
        report["build_s"] = time.perf_counter() - start
        report["bytes_per_template"] = gallery.index_nbytes() / max(1, gallery.templates)
        report["index_factory"] = gallery._source.factory  # type: ignore[attr-defined]
        report["neighbours_effective"] = gallery._source.neighbours  # type: ignore[attr-defined]
        report["index_params"] = asdict(params)
        report["penetration_index"] = min(1.0, params.shortlist / max(1, gallery.templates))
        for kind, probes in kinds.items():
            result = _search(gallery, probes, args.k)
            prefix = "" if kind == "synthetic" else "real_"
            for key in ("rank1", "rank10", "p50_ms", "p99_ms", "probes_per_s", "second_pass_share"):
                report[f"{prefix}{key}_index"] = result[key]
            report[f"{prefix}ranks_index"] = result["ranks"]
        if synthetic_probes:  # the same probes, their fingers no longer enrolled
            for subject, _ in synthetic_probes:
                gallery.remove(subject)
            result = _search(gallery, synthetic_probes, args.k)
            for key in ("p50_ms", "p99_ms", "second_pass_share"):
                report[f"{key}_index_nonmated"] = result[key]
        del gallery
    if args.mode in ("exhaustive", "both"):
        _exhaustive(args, records, kinds, report)
    report["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for key in _KEYS:
        report.setdefault(key, None)
    (args.out / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    shown = [k for k in report if not k.endswith("ranks_index") and k not in ("index_params",)]
    print(format_rows(("figure", "value"), [[k, _shown(report[k])] for k in sorted(shown)]))
    print(f"wrote {args.out / 'report.json'}", file=sys.stderr)
    return 0


def _exhaustive(args: argparse.Namespace, records: list[tuple[str, dict[FingerPosition, Template]]],
                kinds: dict[str, list[tuple[str, Template]]], report: dict[str, Any]) -> None:
    """Rank-1 of every gallery finger scored (one gallery-major native pass over a probe subset),
    and the latency of ``Gallery(mode="exhaustive")`` searches (warm search-form cache, up to
    ``_LATENCY_PROBES`` probes, galleries of at most ``_CACHED_MAX`` fingers: 45 KB a finger)."""
    subjects = [subject for subject, _ in records]
    templates = [fingers[FingerPosition.UNKNOWN] for _, fingers in records]
    row_of = {subject: row for row, subject in enumerate(subjects)}
    subsets = {kind: (probes[:args.exhaustive_probes] if kind == "synthetic" else
                      probes[::max(1, len(probes) // max(1, args.exhaustive_probes))][:args.exhaustive_probes])
               for kind, probes in kinds.items()}
    chosen = [probe for subset in subsets.values() for probe in subset]
    matchers = [Matcher(template) for _, template in chosen]
    if not matchers:
        return
    best = np.full(len(chosen), -1.0)
    best_row = np.full(len(chosen), -1)
    start = time.perf_counter()
    for first in range(0, len(templates), _PASS_CHUNK):
        scores = _native.score_matrix([m._prepared for m in matchers], matchers[0].params,
                                      templates[first:first + _PASS_CHUNK], 0)
        top = scores.argmax(axis=1)
        better = scores[np.arange(len(chosen)), top] > best
        best[better] = scores[np.arange(len(chosen)), top][better]
        best_row[better] = first + top[better]
    report["exhaustive_pass_s"] = time.perf_counter() - start
    hits = [best_row[i] == row_of[subject] for i, (subject, _) in enumerate(chosen)]
    gallery = None
    if len(records) <= _CACHED_MAX:
        gallery = Gallery(mode="exhaustive")
        gallery.add_many(records)
    at = 0
    for kind, subset in subsets.items():
        prefix = "" if kind == "synthetic" else "real_"
        kind_hits = hits[at:at + len(subset)]
        at += len(subset)
        report[f"{prefix}exhaustive_probes"] = len(subset)
        report[f"{prefix}rank1_exhaustive"] = float(np.mean(kind_hits)) if subset else None
        if gallery is not None and subset:
            gallery.search(subset[0][1], k=args.k)  # prepares (and caches) every gallery finger once
            report[f"{prefix}p50_ms_exhaustive"] = _search(gallery, subset[:_LATENCY_PROBES], args.k)["p50_ms"]
        index_ranks = report.get(f"{prefix}ranks_index")
        if index_ranks is not None and subset:
            positions = [kinds[kind].index(probe) for probe in subset]
            index_hits = [index_ranks[p] == 1 for p in positions]
            report[f"{prefix}rank1_index_on_exhaustive_probes"] = float(np.mean(index_hits))
            kept = sum(1 for e, i in zip(kind_hits, index_hits, strict=True) if e and i)
            report[f"{prefix}index_keeps_exhaustive_rank1"] = kept / sum(kind_hits) if sum(kind_hits) else None


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
