"""1:N identification: a gallery of enrolled subjects and its search.

A subject (a string id) holds 1 to 10 fingers, each a :class:`~matcher.template.Template` at a
:class:`~matcher.template.FingerPosition`. :meth:`Gallery.search` asks the candidate source
(:mod:`matcher.index.candidates`; exhaustive for now) which fingers to score, scores them with
:meth:`Matcher.score_many <matcher.matching.Matcher.score_many>` (one GIL-free native batch per
probe finger), keeps each subject's best score per probe finger and fuses a subject's scores
across probe fingers with :func:`matcher.matching.fuse` (a probe finger that met none of the
subject's fingers counts as score 0).
"""

from __future__ import annotations

import heapq
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.errors import CorruptGalleryError, DuplicateIdError, InvalidParameterError
from matcher.index import store
from matcher.index.candidates import CandidateSource, Exhaustive
from matcher.index.faiss_index import MccIndex, stored_params
from matcher.index.records import Records, check_fingers, check_position, check_subject
from matcher.matching import Matcher, fmr_for_score, fuse
from matcher.matching.mcc import _thread_count
from matcher.params import IndexParams
from matcher.template import FingerPosition, Template

__all__ = ["Candidate", "Gallery", "MODES"]

log = logging.getLogger(__name__)

#: Candidate generation modes this build offers.
MODES = ("exhaustive", "index")
#: Largest ``k`` a search accepts.
MAX_K = 100_000


@dataclass(frozen=True)
class Candidate:
    """One search result.

    Attributes
    ----------
    subject : str
        The enrolled subject id.
    finger : FingerPosition
        The subject's finger that gave the highest single-finger score.
    score : float
        In ``[0, 1]``; for multi-finger probes the fused single-finger-equivalent score.
    fmr : float
        The calibrated false match rate of a threshold at ``score``
        (:func:`matcher.matching.fmr_for_score`).
    """

    subject: str
    finger: FingerPosition
    score: float
    fmr: float


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise InvalidParameterError(f"k must be an integer in 1..{MAX_K}, got {k!r}")
    return int(k)


def _check_probe(probe: Any) -> dict[FingerPosition, Template]:
    if isinstance(probe, Template):
        return {FingerPosition.UNKNOWN: probe}
    return check_fingers(probe, "probe")


def _check_filter(fingers: Any, probes: Mapping[FingerPosition, Template]
                  ) -> dict[FingerPosition, list[FingerPosition] | None]:
    """Gallery positions to compare with each probe finger (None: every position)."""
    if fingers is None:
        return dict.fromkeys(probes)
    if isinstance(fingers, str):
        if fingers != "same":
            raise InvalidParameterError(f"fingers must be None, 'same' or finger positions, got {fingers!r}")
        if FingerPosition.UNKNOWN in probes:
            raise InvalidParameterError("fingers='same' needs probe fingers with known positions, "
                                        "got a probe at FingerPosition.UNKNOWN")
        return {position: [position] for position in probes}
    if isinstance(fingers, (int, np.integer)):
        allowed = [check_position(fingers, "fingers")]
    elif isinstance(fingers, Iterable):
        allowed = sorted({check_position(p, "fingers entry") for p in fingers})
        if not allowed:
            raise InvalidParameterError("fingers is empty: no gallery finger would be compared")
    else:
        raise InvalidParameterError(f"fingers must be None, 'same' or finger positions, got {fingers!r}")
    return dict.fromkeys(probes, allowed)


def _check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise InvalidParameterError(f"mode must be one of {MODES}, got {mode!r}")
    return str(mode)


class Gallery:
    """Enrolled subjects, searchable 1:N, savable to one file.

    Parameters
    ----------
    mode : {"exhaustive", "index"}
        Candidate generation: ``"exhaustive"`` scores every relevant finger natively (search
        forms are cached with each template: fast for small galleries, about 45 KB a finger);
        ``"index"`` asks the FAISS candidate index (:mod:`matcher.index.faiss_index`) for a
        shortlist per probe finger and re-scores only that, preparing each candidate in a
        worker thread and caching nothing; a probe finger with no confident mate in its
        shortlist gets a second, deeper one (``IndexParams.second_pass_*``).
    index_params : IndexParams, optional
        Parameters of the candidate index (``mode="index"`` only).

    Notes
    -----
    Methods are thread-safe: mutations and the candidate lookup of a search hold one lock;
    the scoring itself runs outside it.

    Examples
    --------
    >>> import numpy as np
    >>> from matcher import FingerPosition, Template
    >>> rng = np.random.default_rng(1)
    >>> t = Template(x=rng.integers(20, 280, 40), y=rng.integers(20, 380, 40),
    ...              angle=rng.uniform(0, 6.28, 40), kind=np.ones(40, int), quality=np.full(40, 80),
    ...              width=300, height=400)
    >>> gallery = Gallery()
    >>> gallery.add("subject-1", {FingerPosition.RIGHT_INDEX: t})
    >>> best = gallery.search(t, k=1)[0]
    >>> best.subject, best.finger.name, round(best.score, 2)
    ('subject-1', 'RIGHT_INDEX', 1.0)
    """

    def __init__(self, *, mode: str = "exhaustive", index_params: IndexParams | None = None) -> None:
        self.mode = _check_mode(mode)
        if index_params is not None and not isinstance(index_params, IndexParams):
            raise InvalidParameterError(f"index_params must be IndexParams, got {type(index_params).__name__}")
        self._index_params = index_params
        self._records = Records()
        self._source: CandidateSource = self._new_source()
        self._lock = threading.RLock()
        self._second_passes = 0

    def _new_source(self) -> CandidateSource:
        """An empty candidate source of the gallery's mode over its records."""
        if self.mode == "index":
            return MccIndex(self._records, self._index_params)
        return Exhaustive(self._records)

    # -- records -------------------------------------------------------------------------------

    def add(self, subject: str, fingers: Mapping[Any, Template] | Iterable[tuple[Any, Template]]) -> None:
        """Enrol ``subject`` with ``fingers`` (``{position: template}`` or ``[(position, template), ...]``).

        Raises
        ------
        InvalidParameterError
            For an invalid subject id (1-64 printable characters, no surrounding whitespace),
            no fingers, more than 10, or a position that is not a :class:`FingerPosition` code.
        InvalidTemplateError
            When a finger's value is not a Template.
        DuplicateIdError
            When ``subject`` is already enrolled, or a position is given twice.
        """
        self.add_many([(subject, fingers)])

    def add_many(self, records: Iterable[tuple[str, Mapping[Any, Template] | Iterable[tuple[Any, Template]]]]
                 ) -> None:
        """Enrol many ``(subject, fingers)`` at once: all or none, one batch for the candidate index.

        Raises the errors of :meth:`add`; on any of them nothing is enrolled.
        """
        checked = [(check_subject(subject), check_fingers(fingers)) for subject, fingers in records]
        seen: set[str] = set()
        with self._lock:
            for subject, _ in checked:
                if subject in self._records or subject in seen:
                    raise DuplicateIdError(f"subject id {subject!r} is already enrolled")
                seen.add(subject)
            rows: list[int] = []
            templates: list[Template] = []
            for subject, fingers in checked:
                rows.extend(self._records.add(subject, fingers))
                templates.extend(fingers.values())
            self._source.add(rows, templates)

    def remove(self, subject: str) -> None:
        """Remove ``subject``; :class:`UnknownIdError` when it is not enrolled."""
        subject = check_subject(subject)
        with self._lock:
            self._source.remove(self._records.remove(subject))

    def replace(self, subject: str, fingers: Mapping[Any, Template] | Iterable[tuple[Any, Template]]) -> None:
        """Replace every finger of an enrolled ``subject`` (:class:`UnknownIdError` when not enrolled)."""
        subject = check_subject(subject)
        checked = check_fingers(fingers)
        with self._lock:
            self._source.remove(self._records.remove(subject))
            rows = self._records.add(subject, checked)
            self._source.add(rows, list(checked.values()))

    def get(self, subject: str) -> dict[FingerPosition, Template]:
        """``{position: template}`` of ``subject`` (a copy); :class:`UnknownIdError` when not enrolled."""
        subject = check_subject(subject)
        with self._lock:
            return self._records.get(subject)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, subject: object) -> bool:
        return subject in self._records

    def __iter__(self) -> Iterator[str]:
        """Subject ids in enrolment order (a snapshot)."""
        with self._lock:
            return iter(list(self._records))

    @property
    def templates(self) -> int:
        """Number of stored fingers."""
        return self._records.templates

    @property
    def second_passes(self) -> int:
        """Probe fingers searched a second time since the gallery was made (index mode: no
        confident mate in the first shortlist, :class:`~matcher.params.IndexParams`)."""
        return self._second_passes

    def nbytes(self) -> int:
        """Approximate bytes of RAM held by the templates, the bookkeeping and the candidate index.

        A gallery loaded from a file keeps the file's columns (and its candidate index, until the
        first change) mapped instead: those bytes are :meth:`mapped_nbytes`, not counted here.
        """
        with self._lock:
            source = self._source
            index = 0 if source.mapped_nbytes() else source.nbytes()
            return self._records.nbytes() + index + sys.getsizeof(self)

    def mapped_nbytes(self) -> int:
        """Bytes of the loaded gallery file that the gallery views read-only (memory-mapped: resident
        once read, shared with the page cache and reclaimable); 0 for a gallery built in memory."""
        with self._lock:
            return self._records.mapped_nbytes() + self._source.mapped_nbytes()

    def index_nbytes(self) -> int:
        """Bytes held by the candidate index's codes and their ids (0 when exhaustive), in RAM or,
        for a loaded gallery not changed since, in the mapped file."""
        return self._source.nbytes()

    def retrain(self) -> None:
        """Rebuild the candidate index for the gallery's current size (``mode="index"``; a
        maintenance call: adding and removing never need it)."""
        with self._lock:
            self._source.retrain()

    # -- search --------------------------------------------------------------------------------

    def search(self, probe: Template | Mapping[Any, Template], k: int = 10, *, fingers: Any = None,
               threads: int | None = None) -> list[Candidate]:
        """The ``k`` enrolled subjects most similar to ``probe``, best first.

        Parameters
        ----------
        probe : Template or mapping of FingerPosition to Template
            One finger (position unknown) or several fingers of one person.
        k : int
            How many candidates (1 to :data:`MAX_K`); fewer when fewer subjects were compared.
        fingers : None, "same", FingerPosition or iterable of FingerPosition
            Gallery fingers compared with each probe finger: every finger (None), the probe
            finger's own position (``"same"``, needs known probe positions), or these positions.
        threads : int, optional
            Worker threads of the native batch (default: all cores).

        Returns
        -------
        list of Candidate
            Sorted by score descending, ties by subject id.

        Raises
        ------
        InvalidParameterError
            For an invalid ``k``, ``fingers``, ``threads`` or probe mapping.
        InvalidTemplateError
            When a probe finger is not a Template.
        """
        k = _check_k(k)
        probes = _check_probe(probe)
        allowed = _check_filter(fingers, probes)
        thread_count = _thread_count(threads)
        matchers = [Matcher(template) for template in probes.values()]
        with self._lock:
            source = self._source
            batches = []
            for position, template in probes.items():
                rows, templates = source.candidates(template, allowed[position])
                batches.append((rows, self._records.owners(rows), templates))
        below = source.second_pass_below()
        count = len(probes)
        per_subject: dict[str, list[float]] = {}
        best_finger: dict[str, tuple[float, FingerPosition]] = {}

        def collect(j: int, owners: list[tuple[str, FingerPosition]], scores: list[float]) -> None:
            for (subject, position), score in zip(owners, scores, strict=True):
                values = per_subject.get(subject)
                if values is None:
                    values = per_subject[subject] = [0.0] * count
                if score > values[j]:
                    values[j] = score
                if subject not in best_finger or score > best_finger[subject][0]:
                    best_finger[subject] = (score, position)

        for j, ((position, template), matcher, (rows, owners, templates)) in enumerate(
                zip(probes.items(), matchers, batches, strict=True)):
            scores = source.score(matcher, templates, thread_count).tolist() if templates else []
            collect(j, owners, scores)
            if below is None or max(scores, default=0.0) >= below:
                continue
            # No confident mate among the shortlist: the source's deeper second pass, minus the
            # rows just scored (the gallery may have changed in between; each pass is consistent).
            with self._lock:
                self._second_passes += 1
                deep_rows, deep_templates = source.candidates(template, allowed[position], deep=True,
                                                              scored=set(rows))
                deep_owners = self._records.owners(deep_rows)
            if deep_templates:
                collect(j, deep_owners, source.score(matcher, deep_templates, thread_count).tolist())
        fused = ((_fused(values), subject) for subject, values in per_subject.items())
        top = heapq.nsmallest(k, fused, key=lambda item: (-item[0], item[1]))
        return [Candidate(subject=subject, finger=best_finger[subject][1], score=score,
                          fmr=fmr_for_score(score)) for score, subject in top]

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the gallery to ``path`` atomically (layout in :mod:`matcher.index.store`).

        Raises
        ------
        OSError
            When the folder cannot be written; the previous file at ``path``, if any, is intact.
        """
        with self._lock:  # a snapshot: views of the mapped file and copies of what is in RAM
            snapshot = self._records.snapshot()
            index_header, index = self._source.stored()
        header = {"algorithm": Matcher.ALGORITHM, "mode": self.mode, "index": index_header}
        store.write(path, header, snapshot, index)
        log.info("saved gallery of %d subjects to %s", len(snapshot.ids), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mode: str | None = None) -> Gallery:
        """Read a gallery written by :meth:`save`, verifying magic, version and checksums.

        A file of format version 3 is memory-mapped: its columns stay in the file (templates are
        made when a finger is read) and a stored candidate index is used where it lies; what is
        added later lives in RAM. A version-2 file is parsed into templates in RAM.

        Parameters
        ----------
        path : path-like
        mode : str, optional
            Candidate generation of the loaded gallery (default: the file's); search structures
            are rebuilt from the stored templates.

        Raises
        ------
        TemplateVersionError
            When the file's format version is not one this build reads (2 or 3).
        CorruptGalleryError
            When the file is not a gallery, is truncated, fails its checksum, or is inconsistent.
        InvalidParameterError
            When the file's mode (or ``mode``) is not one this build offers.
        OSError
            When the file cannot be read.
        """
        loaded = store.read(path)
        header = loaded.header
        chosen = _check_mode(header.get("mode") if mode is None else mode)
        stored_index = header.get("index")
        reuse = chosen == "index" and header.get("mode") == "index" and isinstance(stored_index, dict)
        params = None
        if reuse:
            try:
                params = stored_params(stored_index["params"])  # type: ignore[index]
            except (KeyError, TypeError, InvalidParameterError) as exc:
                raise CorruptGalleryError(f"gallery file {path}: candidate index parameters: {exc}") from None
        if header.get("algorithm") != Matcher.ALGORITHM:
            log.info("gallery %s was saved with matcher %r, this build runs %r",
                     path, header.get("algorithm"), Matcher.ALGORITHM)
        gallery = cls(mode=chosen, index_params=params)
        if loaded.columns is not None:
            gallery._records = Records(loaded.columns)
            gallery._source = gallery._new_source()
        try:
            for subject, fingers, rows in loaded.records or []:
                gallery._records.add(subject, fingers, rows)
        except (InvalidParameterError, DuplicateIdError) as exc:  # pragma: no cover - store_v2.read checks
            raise CorruptGalleryError(f"gallery file {path}: {exc}") from None
        if reuse:
            gallery._source = MccIndex.from_stored(gallery._records, stored_index, loaded.index,  # type: ignore[arg-type]
                                                   where=f"gallery file {path}")
        elif chosen == "index":  # one batch: the index is built (and trained) once for the whole gallery
            records = gallery._records
            gallery._source.add(*(records.base_templates() if loaded.columns is not None else records.rows_at(None)))
        return gallery


def _fused(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    if max(values) <= 0.0:
        return 0.0
    return fuse(values)
