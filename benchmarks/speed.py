"""1:1 matching speed: ``python -m benchmarks speed [--dataset DIR] --out OUTDIR``.

1. Every image of ``DIR`` (default ``$MATCHER_DATA/fvc2002/db1_b``) is decoded and extracted
   on one thread (the JIT warmed up first, not timed): ``extract_ms_median``; the templates'
   native serialised size (:func:`matcher.formats.dumps`) and minutiae counts are recorded.
2. Every template is prepared as a probe (:class:`matcher.matching.Matcher`) and, by one
   untimed ``score_many`` pass, as a candidate.
3. For about ``--seconds`` each, with ``threads=1`` and then ``threads=--threads``, probes
   are taken in turn and each scored against a batch of prepared candidates (``score_many``):
   comparisons per second of wall time. The batch is every template, repeated up to
   ``--batch`` candidates (default 1024, a 1:N re-scoring shortlist): each call has a fixed
   cost of about 0.1 ms (building the candidate list, waking the worker threads), which an
   80-candidate batch would charge at 10 % of its time.
4. The two measurements alternate ``--repeats`` times (default 3); the report gives the median
   of each (``compare_per_s_1thread``, ``compare_per_s_all``) and every run (``..._runs``). On a
   shared virtual machine the same build's rate drifts by 20-40 % between runs of a few
   seconds (docs/RESULTS.md); the median of alternating runs is steadier than one long run,
   and the runs show the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import data_root, extract_all, format_rows, image_sets
from datasets import list_images
from datasets._cli import positive_int, seconds
from matcher import formats
from matcher.matching import Matcher
from matcher.template import Template

__all__ = ["add_parser", "run", "compare_rate", "cpu_name", "DEFAULT_SECONDS", "DEFAULT_REPEATS"]

#: Default duration of each comparison-rate measurement.
DEFAULT_SECONDS = 3.0
#: Default number of measurements of each kind.
DEFAULT_REPEATS = 3


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``speed`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "speed", help="1:1 comparisons per second (1 thread and all threads), extraction ms, template size",
        description="Extract a set, prepare every template, then score prepared probes against the batch "
                    "of all prepared candidates for about --seconds, with 1 thread and with --threads, "
                    "alternately --repeats times (the report gives the medians).")
    parser.add_argument("--dataset", type=Path, metavar="DIR",
                        help="a folder of images (default: $MATCHER_DATA/fvc2002/db1_b; a folder of sets "
                             "uses its first set)")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="threads of the all-threads measurement (default: %(default)s)")
    parser.add_argument("--seconds", type=seconds, default=DEFAULT_SECONDS, metavar="S",
                        help="duration of each measurement (default: %(default)s)")
    parser.add_argument("--repeats", type=positive_int, default=DEFAULT_REPEATS, metavar="N",
                        help="measurements of each kind, alternating; their median is reported "
                             "(default: %(default)s)")
    parser.add_argument("--batch", type=positive_int, default=1024, metavar="N",
                        help="candidates per score_many call (default: %(default)s)")
    parser.add_argument("--out", required=True, type=Path, metavar="OUTDIR", help="folder for report.json")
    parser.set_defaults(run=run)
    return parser


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``'s model name, else :func:`platform.processor`, else the machine)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def compare_rate(probes: Sequence[Template], candidates: Sequence[Template], *, threads: int,
                 seconds: float) -> float:
    """Comparisons per second: prepared probes in turn, each against the batch of ``candidates``.

    At least one batch is scored; then batches run until ``seconds`` of wall time have passed.
    """
    matchers = [Matcher(p) for p in probes]
    compared, start, elapsed = 0, time.perf_counter(), 0.0
    while compared == 0 or elapsed < seconds:
        matchers[(compared // len(candidates)) % len(matchers)].score_many(candidates, threads=threads)
        compared += len(candidates)
        elapsed = time.perf_counter() - start
    return compared / elapsed


def run(args: argparse.Namespace) -> int:
    """Run the speed benchmark described by parsed ``args``; print the table; return the exit status."""
    dataset = args.dataset if args.dataset is not None else data_root() / "fvc2002" / "db1_b"
    sets = image_sets(dataset, "speed", required=False)
    if sets is None:
        return 2
    paths = list_images(sets[0]) if sets else []
    extraction = extract_all(paths, threads=1, progress=sys.stderr.isatty(), desc="extract")
    templates = [t for t in extraction.templates if t is not None]
    if not templates:
        print(f"benchmarks speed: no image of {dataset} could be extracted", file=sys.stderr)
        return 2
    Matcher(templates[0]).score_many(templates, threads=args.threads)  # prepares every candidate
    # The candidates, repeated to a batch of --batch (a 1:N shortlist is hundreds to thousands).
    batch = (templates * (args.batch // len(templates) + 1))[:max(args.batch, 1)]
    runs: dict[str, list[float]] = {"1thread": [], "all": []}
    for _ in range(args.repeats):
        runs["1thread"].append(compare_rate(templates, batch, threads=1, seconds=args.seconds))
        runs["all"].append(compare_rate(templates, batch, threads=args.threads, seconds=args.seconds))
    report = {
        "dataset": str(sets[0]), "algorithm": Matcher.ALGORITHM, "templates": len(templates),
        "failures_to_extract": len(extraction.failures), "threads": args.threads,
        "batch": len(batch), "repeats": args.repeats,
        "compare_per_s_1thread": float(np.median(runs["1thread"])),
        "compare_per_s_all": float(np.median(runs["all"])),
        "compare_per_s_1thread_runs": runs["1thread"], "compare_per_s_all_runs": runs["all"],
        "extract_ms_median": float(np.median(extraction.ms)),
        "template_bytes_median": float(np.median([len(formats.dumps(t, "native")) for t in templates])),
        "minutiae_median": float(np.median([len(t) for t in templates])),
        "cpu": cpu_name(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    def spread(kind: str) -> str:   # the runs' range, when there are several
        values = runs[kind]
        return f" ({min(values):,.0f}-{max(values):,.0f} in {len(values)} runs)" if len(values) > 1 else ""

    print(f"speed benchmark: {report['dataset']}; {report['algorithm']}; {report['cpu']}")
    print(format_rows(("measure", "value"), [
        ["templates (failures)", f"{len(templates)} ({report['failures_to_extract']})"],
        ["batch (candidates per score_many call)", f"{len(batch)}"],
        ["comparisons/s, 1 thread (median)", f"{report['compare_per_s_1thread']:,.0f}{spread('1thread')}"],
        [f"comparisons/s, {args.threads} threads (median)", f"{report['compare_per_s_all']:,.0f}{spread('all')}"],
        ["extract ms / image (median, 1 thread)", f"{report['extract_ms_median']:.1f}"],
        ["native template bytes (median)", f"{report['template_bytes_median']:.0f}"],
        ["minutiae (median)", f"{report['minutiae_median']:.0f}"],
    ]))
    return 0
