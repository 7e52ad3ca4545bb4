"""Helpers shared by the benchmark commands: where the data is, extracting a set, printing tables."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from datasets import find_image_sets
from matcher.errors import InvalidParameterError, MatcherError
from matcher.features import extract
from matcher.image import load_image
from matcher.template import Template

__all__ = ["REPO", "data_root", "Extraction", "extract_all", "format_rows", "latency_ms"]

#: The repository root (``MATCHER_DATA`` defaults to ``../shared/datasets`` relative to it).
REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Where the datasets are: ``$MATCHER_DATA``, else ``../shared/datasets`` next to the repository."""
    return Path(os.environ.get("MATCHER_DATA", REPO.parent / "shared" / "datasets"))


@dataclass
class Extraction:
    """Templates of a list of images: ``None`` where decoding or extraction failed."""

    templates: list[Template | None]
    ms: list[float] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)


def _extract_one(path: Path, dpi: int | None) -> tuple[Template | None, float, str]:
    try:
        image = load_image(path, dpi=dpi)
        start = time.perf_counter()
        template = extract(image)
    except MatcherError as exc:
        return None, 0.0, str(exc)
    return template, (time.perf_counter() - start) * 1e3, ""


def extract_all(paths: Sequence[Path], *, dpi: int | None | Sequence[int | None] = None, threads: int = 1,
                progress: bool = False, desc: str = "extracting") -> Extraction:
    """Decode and extract every image with ``threads`` workers (numba releases the GIL).

    ``dpi`` is one resolution for every image or one per image (``None``: the metadata's).
    The JIT is warmed up on the first image (not timed); ``ms`` holds the wall time of each
    successful :func:`matcher.features.extract` call (decoding not included), measured while
    ``threads`` workers run. Failures (:class:`~matcher.errors.MatcherError`) leave ``None``
    and are listed with their message, in image order.
    """
    dpis = list(dpi) if isinstance(dpi, Sequence) else [dpi] * len(paths)
    if len(dpis) != len(paths):
        raise InvalidParameterError(f"dpi must be one value or one per image ({len(paths)}), got {len(dpis)}")
    if paths:
        _extract_one(paths[0], dpis[0])
    result = Extraction(templates=[])
    with ThreadPoolExecutor(max_workers=threads) as pool:
        jobs = pool.map(_extract_one, paths, dpis)
        for path, (template, ms, error) in tqdm(zip(paths, jobs, strict=True), total=len(paths), desc=desc,
                                                unit="img", file=sys.stderr, disable=not progress,
                                                leave=False):
            result.templates.append(template)
            if template is None:
                result.failures.append((path, error))
            else:
                result.ms.append(ms)
    return result


def image_sets(dataset: Path, command: str, *, required: bool = True) -> list[Path] | None:
    """The image sets under ``dataset`` (:func:`datasets.find_image_sets`), or ``None`` after
    printing why to stderr (as ``benchmarks COMMAND: ...``): the folder is missing, or, when
    ``required``, it holds no images."""
    try:
        sets = find_image_sets(dataset)
    except NotADirectoryError as exc:
        print(f"benchmarks {command}: {exc}", file=sys.stderr)
        return None
    if required and not sets:
        print(f"benchmarks {command}: no images in {dataset} or its sub-folders", file=sys.stderr)
        return None
    return sets


def format_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned, a rule under the header."""
    table = [list(header)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)])
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def latency_ms(seconds: Sequence[float]) -> dict[str, float | None]:
    """``p50_ms``, ``p99_ms`` and ``max_ms`` of latencies given in seconds (None when there are none)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}
