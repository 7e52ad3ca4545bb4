"""The FAISS candidate index of a gallery: MCC-based indexing on FAISS binary indexes.

Follows Cappelli, Ferrara & Maltoni, "Fingerprint Indexing Based on Minutia Cylinder-Code"
(IEEE TPAMI 33(5), 2011; "MCC-I" below), mapped onto FAISS:

* every gallery finger contributes the bit cylinders of its ``max_codes_per_finger`` most
  reliable usable minutiae (MCC-I §3: cylinders as bit vectors; here 8 x 8 x 6 cells of a
  50 px radius, :class:`~matcher.params.IndexParams`), stored as FAISS binary codes whose id is
  ``row << 8 | minutia``;
* the nearest-neighbour search by Hamming distance replaces MCC-I's locality-sensitive hashing
  (§4.1): exact (``IDMap,BFlat``) up to ``flat_max_codes`` codes, an inverted file over binary
  k-means lists (``BIVF<lists>``, HNSW-assigned above 4096 lists) beyond;
* each probe cylinder votes once for every finger among its ``neighbours`` nearest codes, and
  fingers are ranked by votes (MCC-I §4.2's candidate score, with top-k retrieval in place of
  bucket collisions), ties by how near the voting codes ranked;
* a probe finger with no confident mate among the re-scored shortlist is searched again with
  more neighbours, found exactly by a native scan of the inverted lists
  (:mod:`matcher.index.hamming`) rather than by FAISS's approximate list assignment; the same
  scan scores every finger by how much better than the median finger its codes match each probe
  cylinder (Dice similarity, MCC's bit-based similarity), and the best of those are re-scored too:
  a mate whose codes are nowhere near the top of any probe cylinder's neighbours, and so gets
  no vote, can still match many probe cylinders a little better than random fingers do.

This is the only module that imports faiss. The index is part of the gallery file (its FAISS
serialisation, factory string and parameters), so loading needs no retraining. An index loaded
from a version-3 file is a read-only view of the file's mapped section (FAISS's zero-copy
reader: loading copies nothing); the first change (add, remove, retrain) copies it into RAM,
about 1.5 GB/s, and from then on it is an ordinary FAISS index.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Collection, Sequence
from typing import Any

import faiss
import numpy as np

from matcher.errors import CorruptGalleryError
from matcher.index.hamming import CodeLists
from matcher.index.records import Records
from matcher.matching import Matcher, _native, threshold_for_fmr
from matcher.params import IndexParams
from matcher.template import FingerPosition, Template

__all__ = ["MccIndex", "MINUTIA_BITS", "stored_params"]

log = logging.getLogger(__name__)

#: Low bits of a code id holding the minutia number (the rest is the gallery row).
MINUTIA_BITS = 8
#: Lists above which an IVF's coarse assignment goes through an HNSW graph instead of a scan.
_HNSW_LISTS = 4096
#: Fingers whose cylinders are computed in one native batch when adding.
_CHUNK = 16384


def _ivf(index: Any) -> Any:
    """The index as a ``faiss.IndexBinaryIVF``, or None when it is another kind."""
    index = faiss.downcast_IndexBinary(index)
    return index if isinstance(index, faiss.IndexBinaryIVF) else None


def _ranked(labels: np.ndarray) -> np.ndarray:
    """Rows ranked by votes: one vote per (probe code, row) among a probe code's neighbours
    (``labels``, nearest first, -1 for none), as MCC-I counts a candidate once per probe
    cylinder. Ties go to the row whose voting codes ranked nearer, summed over its votes (the
    position of its nearest code in each probe code's list), then to the older row: without that
    middle key, age alone decided among the many fingers with one or two votes, which favoured
    whichever fingers were enrolled first (docs/INDEX.md)."""
    queries = labels.shape[0]
    flat = labels.T.ravel()                       # position-major: a key's first sight is its nearest code
    where = np.flatnonzero(flat >= 0)
    keys, first = np.unique((flat[where] >> MINUTIA_BITS) * queries + where % queries, return_index=True)
    rows, owner, votes = np.unique(keys // queries, return_inverse=True, return_counts=True)
    nearness = np.bincount(owner, weights=where[first] // queries, minlength=len(rows))
    return rows[np.lexsort((rows, nearness, -votes))]


def _by_score(scores: np.ndarray, count: int | None) -> np.ndarray:
    """Rows with a positive score, the largest first, ties to the older row; only the first
    ``count`` when it is given (found by a partition: a million rows sort in about 0.1 s)."""
    rows = np.flatnonzero(scores > 0)
    if count == 0:
        return rows[:0]
    if count is not None and len(rows) > count:
        values = scores[rows]
        kth = np.partition(values, len(values) - count)[len(values) - count]   # the count-th largest
        above, tied = rows[values > kth], rows[values == kth]
        rows = np.concatenate([above, tied[:count - len(above)]])              # rows ascend: the older first
    return rows[np.lexsort((rows, -scores[rows]))]


def stored_params(fields: dict[str, Any]) -> IndexParams:
    """The :class:`IndexParams` of a stored index (files written before ``cylinder_top_cells``
    existed hold threshold codes: 0)."""
    return IndexParams(**{"cylinder_top_cells": 0, **fields})


class MccIndex:
    """Candidate source of :class:`~matcher.index.Gallery` in ``mode="index"``.

    Not thread-safe by itself: the gallery calls it under its lock.
    """

    mode = "index"

    def __init__(self, records: Records, params: IndexParams | None = None, *, threads: int = 0) -> None:
        self._records = records
        self.params = params or IndexParams()
        self._cylinders = self.params.cylinder_params()
        self._threads = threads
        bits = _native.circle_cells(self._cylinders) * self._cylinders.angular_cells
        self.code_bytes = -(-bits // 8)
        self.factory = "IDMap,BFlat"
        self._index = faiss.index_binary_factory(self.code_bytes * 8, self.factory)
        #: The mapped gallery-file section the index views (None once it lives in RAM).
        self._mapped: np.ndarray | None = None
        #: The inverted lists' memory as the second pass's native scan sees it (None: to be read
        #: again; add, remove, retrain and the copy into RAM drop it, as they move that memory).
        self._lists: CodeLists | None = None

    # -- the CandidateSource protocol ----------------------------------------------------------

    def add(self, rows: Sequence[int], templates: Sequence[Template]) -> None:
        codes, ids = self._gallery_codes(rows, templates)
        if len(codes) == 0:
            return
        self._own()
        if self.factory.startswith("IDMap") and self._index.ntotal + len(codes) > self.params.flat_max_codes:
            self.retrain(extra=(codes, ids))
            return
        self._lists = None
        self._index.add_with_ids(codes, ids)

    def remove(self, rows: Sequence[int]) -> None:
        if rows:
            self._own()
            self._lists = None
        for row in rows:
            self._index.remove_ids(faiss.IDSelectorRange(int(row) << MINUTIA_BITS, (int(row) + 1) << MINUTIA_BITS))

    def candidates(self, probe: Template, positions: Sequence[FingerPosition] | None, *, deep: bool = False,
                   scored: Collection[int] = ()) -> tuple[list[int], list[Template]]:
        """The ``shortlist`` rows with the most votes at ``positions`` (ties: the row whose voting
        codes ranked nearer the probe's, then the older); ``deep``: the second pass's, the
        ``second_pass_shortlist`` rows with the most votes among ``second_pass_depth`` times the
        neighbours and the ``second_pass_score_shortlist`` rows with the largest similarity sums,
        both from one exact scan (:meth:`_deep_scan`), less those in ``scored``."""
        if self._index.ntotal == 0:
            return [], []
        values, usable, _ = _native.cylinders_batch(self._cylinders, [probe], 1)
        codes = self._codes(values[usable])
        if len(codes) == 0:
            return [], []
        p = self.params
        allowed = None if positions is None else set(positions)
        try:
            if not deep:
                _, labels = self._index.search(codes, min(self.neighbours, self._index.ntotal))
                return self._shortlisted([(_ranked(labels).tolist(), p.shortlist)], allowed, scored)
            k = min(1024, round(self.neighbours * p.second_pass_depth)) if p.second_pass_shortlist else 0
            labels, scores = self._deep_scan(codes, k)
            by_score = _by_score(scores, None if allowed else p.second_pass_score_shortlist)
            return self._shortlisted([(_ranked(labels).tolist() if k else [], p.second_pass_shortlist),
                                      (by_score.tolist(), p.second_pass_score_shortlist)], allowed, scored)
        except KeyError as exc:  # the index and the records disagree: only a damaged (loaded) gallery
            raise CorruptGalleryError(
                f"the candidate index names row {exc.args[0]}, which the gallery does not hold: the "
                "gallery file is damaged (Gallery.load(path, mode='exhaustive') still reads its templates, "
                "which can be enrolled into a new gallery)") from None

    def _shortlisted(self, rankings: list[tuple[list[int], int]], allowed: set[FingerPosition] | None,
                     scored: Collection[int]) -> tuple[list[int], list[Template]]:
        """The first ``count`` rows at the ``allowed`` positions of each ``(ranking, count)``, in
        that order, each row once, less those in ``scored``; and their templates."""
        chosen: dict[int, None] = {}
        for ranked, count in rankings:
            taken = 0
            for first in range(0, len(ranked), max(1, count)):  # owners looked up a shortlist at a time
                batch = ranked[first:first + count]
                if allowed is not None:
                    owners = self._records.owners(batch)
                    batch = [row for row, (_, position) in zip(batch, owners, strict=True) if position in allowed]
                batch = batch[:count - taken]
                taken += len(batch)
                chosen.update(dict.fromkeys(batch))
                if taken >= count:
                    break
        rows = [row for row in chosen if row not in scored]
        return rows, [self._records.template(row) for row in rows]

    def _deep_scan(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For the second pass, one exact native scan (:class:`~matcher.index.hamming.CodeLists`):
        the ids of the ``k`` codes nearest to each probe code (rows of ``codes``) by (Hamming
        distance, id), and every row's similarity sum (``CodeLists.scan``). A flat index is one
        list; an inverted file's lists are all scanned while it holds at most
        ``second_pass_scan_codes`` codes, else each probe code's nearest lists holding about that
        many (or ``second_pass_probe_lists`` of them when set). FAISS's own IVF search is not used
        here: its coarse assignment goes through an approximate (HNSW) graph and, asked for every
        list, still missed up to a quarter of the nearest codes at 100,000 fingers (docs/INDEX.md)."""
        k = min(k, self._index.ntotal)
        ivf = _ivf(self._index)
        assignment = None
        if ivf is not None:
            p = self.params
            lists = p.second_pass_probe_lists or math.ceil(ivf.nlist * min(1.0, p.second_pass_scan_codes / self.codes))
            assignment = None if lists >= ivf.nlist else ivf.quantizer.search(codes, lists)[1]
        labels, _, scores = self._code_lists().scan(codes, k, assignment, rows=self._records.next_row,
                                                    row_shift=MINUTIA_BITS, threads=self._threads)
        return labels, scores

    def _code_lists(self) -> CodeLists:
        """The stored codes as the native scan sees them, built again after every change."""
        if self._lists is not None:
            return self._lists
        ivf = _ivf(self._index)
        if ivf is None:   # a flat index: a copy of its codes as one list (at most flat_max_codes)
            self._lists = CodeLists.of_arrays([self._stored()], self.code_bytes)
        else:             # addresses read directly: a view per list (_inverted_lists) costs more
            inverted = ivf.invlists
            sizes = np.array([inverted.list_size(i) for i in range(ivf.nlist)], np.int64)
            code_at = np.array([int(inverted.get_codes(i)) if n else 0 for i, n in enumerate(sizes)], np.int64)
            id_at = np.array([int(inverted.get_ids(i)) if n else 0 for i, n in enumerate(sizes)], np.int64)
            self._lists = CodeLists(code_at, id_at, sizes, self.code_bytes, keep=self._index)
        return self._lists

    def second_pass_below(self) -> float | None:
        """The score under which a probe finger's best shortlisted candidate asks for the second
        pass (the calibrated threshold of ``second_pass_fmr``); None when there is none."""
        if self.params.second_pass_shortlist == 0 and self.params.second_pass_score_shortlist == 0:
            return None
        return threshold_for_fmr(self.params.second_pass_fmr)

    @property
    def neighbours(self) -> int:
        """Codes retrieved per probe cylinder: ``neighbours`` up to ``neighbours_codes`` stored
        codes, then growing with the square root of the code count. A mate's cylinder ranks
        lower among more codes; at 100,000 fingers (4.9 million codes) 45 retrieve more mates
        than 20 (docs/INDEX.md), in galleries of a few thousand fingers 20 rank them better."""
        p = self.params
        return min(1024, max(p.neighbours, round(p.neighbours * math.sqrt(self.codes / p.neighbours_codes))))

    def score(self, matcher: Matcher, templates: list[Template], threads: int) -> np.ndarray:
        """Native re-scoring of the shortlist; each candidate is prepared in a worker and dropped."""
        return _native.score_batch(matcher._prepared, matcher.params, templates, threads)

    # -- maintenance ---------------------------------------------------------------------------

    @property
    def codes(self) -> int:
        """Number of stored cylinder codes."""
        return int(self._index.ntotal)

    def nbytes(self) -> int:
        """Bytes held by the codes and their ids (FAISS's own bookkeeping excluded): in RAM, or in
        the mapped gallery file while :meth:`mapped_nbytes` is not 0."""
        return self.codes * (self.code_bytes + 8)

    def mapped_nbytes(self) -> int:
        """Bytes of the gallery file the index views (0 once it lives in RAM)."""
        return 0 if self._mapped is None else int(self._mapped.nbytes)

    def _probing(self, index: Any) -> Any:
        """``index``, with an inverted file's lists scanned per query set to ``probe_lists``."""
        ivf = _ivf(index)
        if ivf is not None:
            ivf.nprobe = self.params.probe_lists
        return index

    def _own(self) -> None:
        """Copy an index that views the mapped gallery file into RAM (FAISS cannot change a view)."""
        if self._mapped is None:
            return
        view, position = self._mapped.data, 0

        def read(size: int) -> bytes:
            nonlocal position
            piece = view[position:position + size]
            position += piece.nbytes
            return piece.tobytes()

        index = faiss.read_index_binary(faiss.PyCallbackIOReader(read, 1 << 20), 0)  # type: ignore[attr-defined]
        self._index, self._mapped, self._lists = self._probing(index), None, None
        log.info("candidate index of %d codes copied from the gallery file into RAM", self.codes)

    def retrain(self, *, extra: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Rebuild the structure for the current size: flat up to ``flat_max_codes``, else an
        inverted file with ``lists_per_sqrt_code * sqrt(codes)`` lists trained on a sample.

        Adding and removing never need this; it is an explicit maintenance call (also made once,
        automatically, when a flat index outgrows ``flat_max_codes``).
        """
        self._own()
        codes, ids = self._stored()
        if extra is not None:
            codes, ids = np.concatenate([codes, extra[0]]), np.concatenate([ids, extra[1]])
        p = self.params
        if len(codes) <= p.flat_max_codes:
            factory = "IDMap,BFlat"
        else:
            lists = min(p.max_lists, int(p.lists_per_sqrt_code * math.sqrt(len(codes))))
            factory = f"BIVF{lists}" + ("_HNSW32" if lists > _HNSW_LISTS else "")
        index = faiss.index_binary_factory(self.code_bytes * 8, factory)
        if not index.is_trained:
            ivf = _ivf(index)
            lists = ivf.nlist
            ivf.cp.niter = p.train_iterations
            ivf.cp.max_points_per_centroid = p.train_codes_per_list
            sample = min(len(codes), lists * p.train_codes_per_list)
            pick = np.random.default_rng(0).choice(len(codes), sample, replace=False)
            index.train(codes[np.sort(pick)])
            self._probing(index)
        index.add_with_ids(codes, ids)
        log.info("candidate index rebuilt as %s over %d codes", factory, len(codes))
        self._index, self.factory, self._lists = index, factory, None

    # -- persistence ---------------------------------------------------------------------------

    def stored(self) -> tuple[dict[str, Any], np.ndarray]:
        """The gallery file's header entry of this index (factory string, parameters, size) and
        its FAISS serialisation (uint8; the mapped section itself while the index views one)."""
        header = {"factory": self.factory, "params": dataclasses.asdict(self.params), "codes": self.codes,
                  "code_bytes": self.code_bytes, "faiss": faiss.__version__}
        if self._mapped is not None:
            return header, self._mapped
        return header, faiss.serialize_index_binary(self._index)

    @classmethod
    def from_stored(cls, records: Records, header: dict[str, Any], data: np.ndarray | bytes, *,
                    where: str) -> MccIndex:
        """Rebuild from :meth:`stored`'s header and serialisation; :class:`CorruptGalleryError` if they
        disagree. A read-only array (a mapped file section, kept alive by the index) is viewed, not
        copied, by FAISS's zero-copy reader (FAISS builds without one copy it); bytes are copied."""
        try:
            params = stored_params(header["params"])
            source = cls(records, params)
            if isinstance(data, np.ndarray) and not data.flags.writeable and hasattr(faiss, "ZeroCopyIOReader"):
                view = np.ascontiguousarray(data, dtype=np.uint8)
                reader = faiss.ZeroCopyIOReader(faiss.swig_ptr(view), view.nbytes)  # type: ignore[attr-defined]
                index = faiss.read_index_binary(reader, 0)
                source._mapped = view
            else:
                index = faiss.deserialize_index_binary(np.frombuffer(data, dtype=np.uint8))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CorruptGalleryError(f"{where}: the candidate index cannot be read: {exc}") from None
        if index.d != source.code_bytes * 8 or index.ntotal != header.get("codes"):
            raise CorruptGalleryError(f"{where}: the candidate index holds {index.ntotal} codes of {index.d} bits, "
                                      f"the header says {header.get('codes')} of {source.code_bytes * 8}")
        source._index, source.factory = source._probing(index), str(header.get("factory"))
        return source

    # -- codes ---------------------------------------------------------------------------------

    def _codes(self, values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values.view(np.uint8)[:, :self.code_bytes])

    def _gallery_codes(self, rows: Sequence[int], templates: Sequence[Template]) -> tuple[np.ndarray, np.ndarray]:
        """Codes and ids of the ``max_codes_per_finger`` most reliable usable minutiae of each finger."""
        cap = self.params.max_codes_per_finger
        codes: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        for first in range(0, len(templates), _CHUNK):  # bounded temporaries for large batches
            chunk = list(templates[first:first + _CHUNK])
            values, usable, offsets = _native.cylinders_batch(self._cylinders, chunk, self._threads)
            keep: list[np.ndarray] = []
            for row, template, start, stop in zip(rows[first:first + _CHUNK], chunk, offsets[:-1], offsets[1:],
                                                  strict=True):
                minutiae = np.flatnonzero(usable[start:stop])
                if len(minutiae) > cap:
                    best = np.argsort(-template.quality[minutiae].astype(np.int32), kind="stable")[:cap]
                    minutiae = np.sort(minutiae[best])
                keep.append(start + minutiae)
                ids.append((np.int64(row) << MINUTIA_BITS) + minutiae.astype(np.int64))
            codes.append(self._codes(values[np.concatenate(keep)]))
        if not codes:
            return np.zeros((0, self.code_bytes), np.uint8), np.zeros(0, np.int64)
        return np.concatenate(codes), np.concatenate(ids)

    def _stored(self) -> tuple[np.ndarray, np.ndarray]:
        """Every stored ``(codes, ids)``, read back from the FAISS structure."""
        index = self._index
        if isinstance(index, faiss.IndexBinaryIDMap):
            flat = faiss.downcast_IndexBinary(index.index)
            codes = faiss.vector_to_array(flat.xb).reshape(-1, self.code_bytes)
            return codes, faiss.vector_to_array(index.id_map).astype(np.int64)
        lists = self._inverted_lists()
        return (np.concatenate([codes for codes, _ in lists]).reshape(-1, self.code_bytes),
                np.concatenate([ids for _, ids in lists]).astype(np.int64))

    def _inverted_lists(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(codes (n, code_bytes), ids (n,))`` of each list of an inverted-file index: views of
        FAISS's memory, valid until the index next changes."""
        ivf = _ivf(self._index)
        lists = ivf.invlists
        views = []
        for i in range(ivf.nlist):
            size = lists.list_size(i)
            if size == 0:
                views.append((np.zeros((0, self.code_bytes), np.uint8), np.zeros(0, np.int64)))
                continue
            views.append((faiss.rev_swig_ptr(lists.get_codes(i), size * self.code_bytes).reshape(size, self.code_bytes),
                          faiss.rev_swig_ptr(lists.get_ids(i), size)))
        return views
