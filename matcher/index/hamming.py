"""Exact scans of inverted lists of binary codes: Hamming k-nearest neighbours, and row scores.

The deep (second) pass of the candidate index (:mod:`matcher.index.faiss_index`) compares each
probe cylinder with every stored code, or with the codes of its nearest lists, natively
(``native/hamming.cpp``): FAISS's IVF search assigns queries to lists through an approximate
(HNSW) coarse quantizer and, asked for every list, still skipped up to a quarter of the nearest
codes of a 100,000-finger gallery (docs/INDEX.md). The same scan scores every row (finger): per
probe cylinder, the best Dice similarity of the row's codes above the median row's, summed
(:func:`row_scores_reference`). :func:`knn_reference` and :func:`row_scores_reference` are the
slow, obviously correct numpy versions the native kernel is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.matching import _native

__all__ = ["CodeLists", "knn_reference", "row_scores_reference"]

#: Code ids must lie below this (the kernel packs a distance and an id in 64 bits).
MAX_ID = 1 << 40


class CodeLists:
    """Inverted lists of binary codes, searched exactly: list ``l`` holds ``sizes[l]`` codes of
    ``code_bytes`` bytes at address ``code_addresses[l]`` and their int64 ids (each below 2^40)
    at ``id_addresses[l]``. The memory is referenced, not copied: whoever builds the object keeps
    it alive and unchanged while the object is used (``keep`` holds references to that end; the
    candidate index rebuilds its object after every change of its FAISS index).
    :meth:`of_arrays` builds one from numpy arrays."""

    def __init__(self, code_addresses: np.ndarray, id_addresses: np.ndarray, sizes: np.ndarray, code_bytes: int,
                 keep: object = None) -> None:
        self._codes = np.ascontiguousarray(code_addresses, dtype=np.int64)
        self._ids = np.ascontiguousarray(id_addresses, dtype=np.int64)
        self.sizes = np.ascontiguousarray(sizes, dtype=np.int64)
        self.code_bytes = code_bytes
        self._keep = keep

    @classmethod
    def of_arrays(cls, lists: Sequence[tuple[np.ndarray, np.ndarray]], code_bytes: int) -> CodeLists:
        """Lists of ``(codes (n, code_bytes) uint8, ids (n,) int64)``, checked and referenced."""
        keep: list[np.ndarray] = []
        addresses = np.zeros((3, len(lists)), np.int64)
        for i, (codes, ids) in enumerate(lists):
            codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, code_bytes)
            ids = np.ascontiguousarray(ids, dtype=np.int64)
            if len(codes) != len(ids):
                raise ValueError(f"list {i} holds {len(codes)} codes and {len(ids)} ids")
            if len(ids) and (ids.min() < 0 or ids.max() >= MAX_ID):
                raise ValueError(f"list {i}: code ids must lie in [0, 2^40)")
            keep += [codes, ids]
            addresses[:, i] = codes.ctypes.data, ids.ctypes.data, len(ids)
        return cls(*addresses, code_bytes, keep)

    def __len__(self) -> int:
        return len(self.sizes)

    def search(self, queries: np.ndarray, k: int, assignment: np.ndarray | None = None, *,
               threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, distances)``, each ``(len(queries), k)``: for every query, the ``k`` codes
        nearest to it, ordered by (distance, id), among the lists ``assignment[q]`` names (list
        numbers, -1 ignored; None: every list); -1 ids (and the largest int32 distance) where it
        sees fewer than ``k`` codes."""
        if k <= 0:
            raise ValueError("k must be positive")
        return self.scan(queries, k, assignment, threads=threads)[:2]

    def scan(self, queries: np.ndarray, k: int, assignment: np.ndarray | None = None, *, rows: int = 0,
             row_shift: int = 0, threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass over the codes :meth:`search` would compare, giving its ``(labels, distances)``
        (``k`` may be 0: none) and each row's score ``(rows,)`` int32 (:func:`row_scores_reference`
        defines it; the row of a code is ``id >> row_shift``, rows at or above ``rows`` are left out)."""
        queries = np.ascontiguousarray(queries, dtype=np.uint8)
        if queries.ndim != 2 or queries.shape[1] != self.code_bytes:
            raise ValueError(f"queries must be an (n, {self.code_bytes}) array of codes, got shape {queries.shape}")
        extra = {"threads": threads, "row_shift": row_shift, "rows": rows}
        if assignment is None:
            return _native.hamming_scan(self._codes, self._ids, self.sizes, self.code_bytes, queries, k, **extra)
        assignment = np.asarray(assignment, dtype=np.int64).reshape(len(queries), -1)
        if assignment.size and assignment.max() >= len(self):
            raise ValueError(f"assignment names list {assignment.max()}; there are {len(self)}")
        query, column = np.nonzero(assignment >= 0)
        pairs = np.unique(assignment[query, column] * len(queries) + query)   # by list, each (list, query) once
        offsets = np.zeros(len(self) + 1, np.int64)
        offsets[1:] = np.cumsum(np.bincount(pairs // len(queries), minlength=len(self)))
        return _native.hamming_scan(self._codes, self._ids, self.sizes, self.code_bytes, queries, k, offsets,
                                    (pairs % len(queries)).astype(np.int32), **extra)


def _shown(lists: Sequence[tuple[np.ndarray, np.ndarray]], q: int, code_bytes: int,
           assignment: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, ids)`` of the lists query ``q`` scans."""
    chosen = range(len(lists)) if assignment is None else sorted({int(a) for a in assignment[q] if a >= 0})
    ids = np.concatenate([np.asarray(lists[i][1], np.int64) for i in chosen] or [np.zeros(0, np.int64)])
    codes = np.concatenate([np.asarray(lists[i][0], np.uint8).reshape(-1, code_bytes) for i in chosen]
                           or [np.zeros((0, code_bytes), np.uint8)])
    return codes, ids


def knn_reference(lists: Sequence[tuple[np.ndarray, np.ndarray]], queries: np.ndarray, k: int,
                  assignment: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`CodeLists.search` in numpy: every distance computed, sorted by (distance, id)."""
    queries = np.asarray(queries, dtype=np.uint8)
    labels = np.full((len(queries), k), -1, np.int64)
    distances = np.full((len(queries), k), np.iinfo(np.int32).max, np.int32)
    for q, query in enumerate(queries):
        codes, ids = _shown(lists, q, queries.shape[1], assignment)
        d = np.unpackbits(codes ^ query, axis=1).sum(axis=1).astype(np.int64)
        order = np.lexsort((ids, d))[:k]
        labels[q, :len(order)] = ids[order]
        distances[q, :len(order)] = d[order]
    return labels, distances


def row_scores_reference(lists: Sequence[tuple[np.ndarray, np.ndarray]], queries: np.ndarray, rows: int,
                         row_shift: int, assignment: np.ndarray | None = None) -> np.ndarray:
    """The row scores of :meth:`CodeLists.scan` in numpy: ``best[r, q]``, the largest Dice
    similarity ``floor(255 * (1 - d / (|q| + |c|)))`` (0 for two empty codes) between query ``q``
    and a code ``c`` of row ``r`` (``id >> row_shift``) that ``q`` is shown, 0 for none; ``m[q]``,
    the lower median of ``best[:, q]`` over the rows with some non-zero ``best``; a row's score is
    the sum over ``q`` of ``max(0, best[r, q] - m[q])``."""
    queries = np.asarray(queries, dtype=np.uint8)
    best = np.zeros((rows, len(queries)), np.int64)
    for q, query in enumerate(queries):
        codes, ids = _shown(lists, q, queries.shape[1], assignment)
        d = np.unpackbits(codes ^ query, axis=1).sum(axis=1).astype(np.int64)
        den = np.unpackbits(codes, axis=1).sum(axis=1).astype(np.int64) + int(np.unpackbits(query).sum())
        similarity = np.where(den > 0, 255 * (den - d) // np.maximum(den, 1), 0)
        row = ids >> row_shift
        inside = row < rows
        np.maximum.at(best[:, q], row[inside], similarity[inside])
    seen = best.any(axis=1)
    if not seen.any():
        return np.zeros(rows, np.int32)
    median = np.sort(best[seen], axis=0)[(seen.sum() - 1) // 2]
    return np.where(seen, np.maximum(best - median, 0).sum(axis=1), 0).astype(np.int32)
