"""The gallery file: ``python -m benchmarks gallery-file --gallery-size N --store DIR --out OUTDIR``.

Builds a gallery of ``N`` one-finger subjects (``synthetic/<i>``, impression 0 of synthetic
finger ``i``, :mod:`datasets.synthetic.templates`; with ``--distinct F`` only ``F`` fingers are
generated and subject ``i`` holds finger ``i % F``), saves it with :meth:`Gallery.save
<matcher.index.Gallery.save>`, then loads it ``--loads`` times, each in a fresh process so that
the resident memory it reports is the loaded gallery's (plus the interpreter with numpy, faiss
and the library, measured before the load and reported apart). In ``index`` mode each loading
process also searches ``--probes`` stored fingers (first search and median latency; the
re-loaded gallery must rank each probe's own subject first). The last loading process then
enrols one more subject (the first change after a load: in index mode it copies a mapped
candidate index into RAM) and saves the changed gallery next to the file (removed after).

With ``--from FILE`` the gallery is not built: ``FILE`` (a gallery file of any version this
build reads, e.g. one written by an older build) is loaded in a fresh process and measured
(``from_*`` keys), loaded here, saved in the current format and measured as above: the
before-and-after of a format change in one command, on one gallery.

Files are read from the page cache (they were just written or read): the figures are warm-cache
loads. Prints a table and writes ``OUTDIR/report.json`` (keys in the module's ``_KEYS``; times in
seconds, memory in MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import format_rows
from benchmarks.identify import SEED
from benchmarks.speed import cpu_name
from datasets._cli import non_negative_int, positive_int
from datasets.synthetic.templates import TemplateStore, write_store
from matcher.index import Gallery
from matcher.template import FingerPosition, Template

__all__ = ["add_parser", "run"]

_KEYS = ("gallery_size", "distinct_fingers", "mode", "format_version", "build_s", "save_s", "file_mb", "load_s",
         "rss_mb", "rss_anon_mb", "rss_file_mb", "base_rss_mb", "peak_rss_mb", "nbytes_mb")
#: Subjects added to an exhaustive gallery per call (bounded temporaries at 1M); an index gallery
#: takes them in one call, so that its IVF is trained once for the whole gallery (as ``identify``).
_ADD_CHUNK = 100_000


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``gallery-file`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "gallery-file", help="1:N gallery file: save and load time, file size, memory after load",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("--gallery-size", type=positive_int, default=100_000, help="subjects (one finger each)")
    parser.add_argument("--distinct", type=positive_int,
                        help="distinct synthetic fingers, repeated under distinct subject ids (default: all)")
    parser.add_argument("--mode", choices=("exhaustive", "index"), default="exhaustive")
    parser.add_argument("--store", type=Path, required=True,
                        help="synthetic template store to reuse or create (seed 20261126; an `identify` store works)")
    parser.add_argument("--workers", type=positive_int, default=2, help="processes generating templates")
    parser.add_argument("--loads", type=positive_int, default=3, help="loads measured, one process each")
    parser.add_argument("--probes", type=non_negative_int, default=20, help="searches after each load (index mode)")
    parser.add_argument("--from", dest="source", type=Path,
                        help="gallery file to load, measure and save again instead of building one")
    parser.add_argument("--file", type=Path, help="gallery file to write (default: a temporary one, removed after)")
    parser.add_argument("--out", type=Path, default=Path("out/gallery-file"), help="output folder")
    parser.set_defaults(run=run)
    return parser


def _store(folder: Path, fingers: int, workers: int) -> TemplateStore | None:
    """A store holding at least ``fingers`` fingers of seed :data:`SEED` (generated with one impression
    when ``folder`` holds none; None, after saying why, when it holds another one)."""
    if (folder / "meta.json").exists():
        store = TemplateStore(folder)
        if store.meta.get("seed") == SEED and store.meta.get("fingers", 0) >= fingers:
            return store
        print(f"gallery-file: --store {folder} holds {store.meta.get('fingers')} fingers of seed "
              f"{store.meta.get('seed')}, {fingers} of seed {SEED} are needed; pick an empty folder", file=sys.stderr)
        return None
    return write_store(folder, seed=SEED, fingers=fingers, impressions=1, workers=workers)


def _finger(store: TemplateStore, finger: int) -> Template:
    return store.template(finger * int(store.meta["impressions"]))


def _build(store: TemplateStore, size: int, distinct: int, mode: str) -> Gallery:
    gallery = Gallery(mode=mode)
    chunk = _ADD_CHUNK if mode == "exhaustive" else max(size, 1)
    for first in range(0, size, chunk):
        gallery.add_many((f"synthetic/{i}", {FingerPosition.UNKNOWN: _finger(store, i % distinct)})
                         for i in range(first, min(size, first + chunk)))
    return gallery


def run(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {"cpu": cpu_name(), "machine": platform.machine(), "cores": os.cpu_count()}
    start = time.perf_counter()
    source = None if args.source is None else Gallery.load(args.source)
    size = args.gallery_size if source is None else len(source)
    distinct = min(args.distinct or size, size)
    store = _store(args.store, distinct, args.workers)
    if store is None:
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report.update(gallery_size=size, distinct_fingers=distinct, mode=args.mode if source is None else source.mode)
    probes = min(args.probes, distinct) if report["mode"] == "index" else 0
    if source is None:
        gallery = _build(store, size, distinct, args.mode)
        report["build_s"] = time.perf_counter() - start
    else:
        gallery, source = source, None
        report.update(from_file=str(args.source), from_format_version=_version(args.source),
                      from_file_mb=args.source.stat().st_size / 2**20)
        report.update({f"from_{key}": value
                       for key, value in _load_in_child(args.source, args.store, probes, distinct).items()})
    report["built_nbytes_mb"] = gallery.nbytes() / 2**20
    with tempfile.TemporaryDirectory(prefix="basma-gallery-file-") as temp:
        path = args.file or Path(temp) / "gallery.bsmg"
        start = time.perf_counter()
        gallery.save(path)
        report["save_s"] = time.perf_counter() - start
        del gallery
        report["file_mb"] = path.stat().st_size / 2**20
        report["format_version"] = _version(path)
        loads = [_load_in_child(path, args.store, probes, distinct, change=i == args.loads - 1)
                 for i in range(args.loads)]
    report["load_s_all"] = [load["load_s"] for load in loads]
    report["load_s"] = float(np.median(report["load_s_all"]))
    report.update({key: value for key, value in loads[-1].items() if key != "load_s"})
    report["build_peak_rss_mb"] = _memory_mb()["peak"]
    for key in _KEYS:
        report.setdefault(key, None)
    (args.out / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    print(format_rows(("figure", "value"), [[k, _shown(report[k])] for k in sorted(report)]))
    print(f"wrote {args.out / 'report.json'}", file=sys.stderr)
    return 0


def _version(path: Path) -> int:
    with open(path, "rb") as file:
        return int.from_bytes(file.read(6)[4:6], "little")


def _load_in_child(path: Path, store: Path, probes: int, distinct: int, change: bool = False) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.gallery_file", str(path), str(store), str(probes),
                           str(distinct), str(int(change))],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loading {path} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _memory_mb() -> dict[str, float]:
    """``VmRSS``, ``RssAnon``, ``RssFile`` and the peak ``VmHWM`` of this process in MiB (Linux; elsewhere
    ``ru_maxrss``, which a process started by another inherits from it)."""
    found: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    found[key] = int(value.split()[0]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    peak = found.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"rss": found.get("VmRSS", peak), "anon": found.get("RssAnon", 0.0), "file": found.get("RssFile", 0.0),
            "peak": peak}


def _child(path: str, store_folder: str, probes: int, distinct: int, change: bool) -> dict[str, Any]:
    """Load ``path`` in this (fresh) process and measure it, its searches (``probes``) and, with
    ``change``, one enrolment after the load and a save of the changed gallery next to ``path``
    (removed after); the last line of stdout is the result."""
    before = _memory_mb()
    start = time.perf_counter()
    gallery = Gallery.load(path)
    load_s = time.perf_counter() - start
    after = _memory_mb()
    result: dict[str, Any] = {
        "load_s": load_s, "base_rss_mb": before["rss"], "rss_mb": after["rss"] - before["rss"],
        "rss_anon_mb": after["anon"] - before["anon"], "rss_file_mb": after["file"] - before["file"],
        "peak_rss_mb": after["peak"], "nbytes_mb": gallery.nbytes() / 2**20, "subjects": len(gallery),
        "templates": gallery.templates, "mapped_mb": getattr(gallery, "mapped_nbytes", lambda: 0)() / 2**20}
    if probes:
        store = TemplateStore(store_folder)
        times, hits = [], 0
        for finger in range(probes):
            probe = _finger(store, finger)
            start = time.perf_counter()
            found = gallery.search(probe, k=1)
            times.append(time.perf_counter() - start)
            # with --distinct, subjects i, i + F, ... hold the same finger: any of them is a hit
            name = found[0].subject.partition("/") if found else ("", "", "")
            hits += name[0] == "synthetic" and name[2].isdigit() and int(name[2]) % distinct == finger
        searched = _memory_mb()
        result.update(first_search_ms=times[0] * 1e3, search_p50_ms=float(np.median(times)) * 1e3,
                      self_rank1=hits / probes, rss_after_search_mb=searched["rss"] - before["rss"],
                      rss_anon_after_search_mb=searched["anon"] - before["anon"])
    if change:
        template = _finger(TemplateStore(store_folder), 0)
        start = time.perf_counter()
        gallery.add("benchmark/added", {FingerPosition.UNKNOWN: template})
        result["first_add_s"] = time.perf_counter() - start
        added = _memory_mb()
        result["rss_after_add_mb"], result["rss_anon_after_add_mb"] = (added["rss"] - before["rss"],
                                                                       added["anon"] - before["anon"])
        again = Path(f"{path}.changed")
        start = time.perf_counter()
        gallery.save(again)
        result["changed_save_s"] = time.perf_counter() - start
        again.unlink()
    return result


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return str(value)


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")))
