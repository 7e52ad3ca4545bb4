"""The only importer of the compiled extension ``basma_native`` (built from ``native/``)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from matcher.errors import InvalidParameterError, NativeExtensionError
from matcher.params import WORKING_DPI, MatchingParams
from matcher.template import Template

try:
    import basma_native as _ext
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise NativeExtensionError(
        "the native extension basma_native is not built; run `make install` "
        f"(or `pip install -e .`): {exc}") from exc

ABI_VERSION = 5
if getattr(_ext, "ABI_VERSION", None) != ABI_VERSION:  # pragma: no cover
    raise NativeExtensionError(
        f"basma_native ABI {getattr(_ext, 'ABI_VERSION', None)} does not match the library's "
        f"{ABI_VERSION}; rebuild with `make install`")


def circle_cells(params: MatchingParams) -> int:
    """Cells of one cylinder section inside the base circle (MCC eq. 5)."""
    return int(_model(params).circle_cells)


def build_info() -> dict[str, Any]:
    """How the native extension was compiled: ABI version and target (native or portable)."""
    return dict(_ext.build_info())


def bounding_box(x, y) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """Bounding box of minutiae coordinates computed natively (-1s for an empty set)."""
    return tuple(_ext.bounding_box(x, y))  # type: ignore[return-value]


@functools.lru_cache(maxsize=8)
def _model(params: MatchingParams) -> Any:
    try:
        return _ext.MccModel(dataclasses.asdict(params))
    except ValueError as exc:
        raise InvalidParameterError(f"matching parameters rejected by the native kernels: {exc}") from None


# Search forms are derived from templates on first use and never stored (STYLE: SourceAFIS):
# each template object keeps its own in a private attribute (dropped by pickling, see
# Template.__getstate__), a list of (params, form) looked up by identity first, so the lookup
# in a score_many batch costs about 0.1 us a candidate and the form lives as long as its
# template. Concurrent first uses may both prepare; one result wins, both are correct.
_CACHE = "_cache_search_forms"


def prepare(template: Template, params: MatchingParams) -> Any:
    """The native search form (bit cylinders, pair tables) of ``template``, cached per object.

    Coordinates are rescaled to the 500 dpi working resolution, so templates of any supported
    dpi compare with each other.
    """
    forms = template.__dict__.get(_CACHE)
    if forms is not None:
        for key, form in forms:
            if key is params:
                return form
        for key, form in forms:
            if key == params:
                return form
    scale = WORKING_DPI / template.dpi
    form = _ext.prepare(_model(params), template.x.astype(np.float64) * scale,
                        template.y.astype(np.float64) * scale, template.angle)
    object.__setattr__(template, _CACHE, [*(forms or ()), (params, form)])
    return form


def score(probe: Any, candidate: Any) -> float:
    """Score of two prepared templates (GIL released)."""
    return float(_ext.score(probe, candidate))


def score_many(probe: Any, candidates: list[Any], threads: int) -> np.ndarray:
    """Scores of a prepared probe against prepared candidates on ``threads`` threads (GIL released)."""
    return _ext.score_many(probe, candidates, threads)


def cylinders(prepared: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, valid, usable)`` of a prepared template, for parity tests."""
    return tuple(_ext.cylinders(prepared))  # type: ignore[return-value]


def local_similarities(a: Any, b: Any) -> np.ndarray:
    """The native local similarity matrix Gamma of two prepared templates, for parity tests."""
    return _ext.local_similarities(a, b)  # type: ignore[no-any-return]


def batch_arrays(templates: list[Template]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, angle, offsets)`` of ``templates`` concatenated, coordinates at 500 dpi (float64)."""
    if not templates:
        return (np.zeros(0), np.zeros(0), np.zeros(0, np.float32), np.zeros(1, np.int64))
    scales = [WORKING_DPI / t.dpi for t in templates]
    x = np.concatenate([t.x.astype(np.float64) * s for t, s in zip(templates, scales, strict=True)])
    y = np.concatenate([t.y.astype(np.float64) * s for t, s in zip(templates, scales, strict=True)])
    angle = np.concatenate([t.angle for t in templates]).astype(np.float32, copy=False)
    offsets = np.zeros(len(templates) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in templates], out=offsets[1:])
    return x, y, angle, offsets


def score_batch(probe: Any, params: MatchingParams, templates: list[Template], threads: int) -> np.ndarray:
    """Scores of a prepared probe against ``templates``, each prepared in a worker and dropped.

    Unlike :func:`score_many`, nothing is cached on the templates: the 1:N re-scoring of a large
    gallery keeps no search form (about 45 KB each) alive.
    """
    return _ext.score_batch(probe, _model(params), *batch_arrays(templates), threads)  # type: ignore[no-any-return]


def score_matrix(probes: list[Any], params: MatchingParams, templates: list[Template], threads: int
                 ) -> np.ndarray:
    """``(len(probes), len(templates))`` scores of prepared probes, each template prepared once."""
    return _ext.score_matrix(probes, _model(params), *batch_arrays(templates), threads)  # type: ignore[no-any-return]


def cylinders_batch(params: MatchingParams, templates: list[Template], threads: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values (m, words) uint64, usable (m,) bool, offsets)`` bit cylinders of many templates."""
    x, y, angle, offsets = batch_arrays(templates)
    values, usable = _ext.cylinders_batch(_model(params), x, y, angle, offsets, threads)
    return values, usable, offsets


def hamming_scan(code_addresses: np.ndarray, id_addresses: np.ndarray, sizes: np.ndarray, code_bytes: int,
                 queries: np.ndarray, k: int, list_offsets: np.ndarray | None = None,
                 list_queries: np.ndarray | None = None, threads: int = 0, row_shift: int = 0,
                 rows: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(labels (n, k) int64, distances (n, k) int32, row scores (rows,) int32)``: one exact scan
    of inverted lists given by address (``native/hamming.hpp``; the caller keeps that memory alive
    and unchanged)."""
    return _ext.hamming_scan(code_addresses, id_addresses, sizes, code_bytes,  # type: ignore[no-any-return]
                             np.ascontiguousarray(queries, dtype=np.uint8), k, list_offsets, list_queries, threads,
                             row_shift, rows)
