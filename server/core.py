"""The service's state and the work behind each RPC: a durable store plus the in-memory gallery.

Writes go to the store first (durable when it returns) and then to the gallery, both under the
subject's lock, so the gallery always mirrors the store; at start the gallery is rebuilt from
``store.iter_subjects()`` and only then is the core ready. Reads of templates for matching come
from the gallery (whose templates cache their search forms), never from the database.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import matcher
from matcher import FingerPosition, Template
from matcher.index import Candidate, Gallery
from server.errors import FailedPreconditionError, NotReadyError
from server.metrics import Metrics
from server.storage import Store, StoreError, SubjectRecord

__all__ = ["Core", "VerifyResult", "EnrollResult", "IdentifyResult", "DEFAULT_FMR"]

log = logging.getLogger(__name__)

#: FMR used when a request leaves it 0.
DEFAULT_FMR = 1e-4
#: Candidates asked per probe finger by the duplicate check.
_DUPLICATE_K = 10
_LOCK_STRIPES = 64
T = TypeVar("T")


@dataclass(frozen=True)
class VerifyResult:
    """A 1:1 decision: ``match`` when ``score >= threshold`` (the threshold of ``fmr``)."""

    match: bool
    score: float
    fmr: float
    threshold: float
    finger_scores: tuple[float, ...]


@dataclass(frozen=True)
class EnrollResult:
    """What an enrolment did: ``enrolled`` False only when duplicates were rejected."""

    enrolled: bool
    positions: tuple[FingerPosition, ...]
    duplicates: tuple[Candidate, ...]


@dataclass(frozen=True)
class IdentifyResult:
    candidates: tuple[Candidate, ...]
    gallery_subjects: int


def _fused(scores: Sequence[float]) -> float:
    if len(scores) == 1:
        return float(scores[0])
    if max(scores) <= 0.0:
        return 0.0
    return float(matcher.fuse(list(scores)))


class Core:
    """Store + gallery + locks.

    Parameters
    ----------
    store : server.storage.Store
        The durable, encrypted template store (owned: :meth:`close` closes it).
    metrics : Metrics
        Sink of gallery size, decisions, candidates, quality and store errors.
    search_threads : int, optional
        Native threads per Identify search (default: all cores).
    gallery_mode : str, optional
        :class:`~matcher.index.Gallery` candidate generation (default: the library's).
    """

    def __init__(self, store: Store, metrics: Metrics, *, search_threads: int | None = None,
                 gallery_mode: str | None = None) -> None:
        self.store = store
        self._metrics = metrics
        self._threads = search_threads
        self._mode = gallery_mode
        self.gallery = self._new_gallery()
        self._earlier_second_passes = 0   # those of galleries that load() replaced
        metrics.count_second_passes(lambda: self._earlier_second_passes + self.gallery.second_passes)
        self._positions: Counter[FingerPosition] = Counter()
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._ready = threading.Event()
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------------

    def _new_gallery(self) -> Gallery:
        return Gallery() if self._mode is None else Gallery(mode=self._mode)

    def load(self) -> int:
        """Rebuild the gallery from the store; the core is ready afterwards. Returns the subjects loaded."""
        gallery = self._new_gallery()
        positions: Counter[FingerPosition] = Counter()
        records: list[tuple[str, dict[FingerPosition, Template]]] = []
        try:
            for record in self.store.iter_subjects():
                records.append((record.subject, record.fingers))
                positions.update(list(record.fingers))
            # One bulk add: the candidate index is built (and, past its flat limit, trained)
            # once for the whole gallery rather than for its first batch.
            gallery.add_many(records)
        except StoreError:
            self._metrics.store_errors_total.labels("load").inc()
            raise
        self._earlier_second_passes += self.gallery.second_passes
        self.gallery, self._positions = gallery, positions
        self._metrics.set_gallery(len(gallery), gallery.templates)
        self._ready.set()
        log.info("gallery loaded", extra={"subjects": len(gallery), "templates": gallery.templates})
        return len(gallery)

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._closed

    def close(self) -> None:
        """Stop accepting work and close (flush) the store; idempotent."""
        if not self._closed:
            self._closed = True
            self._ready.clear()
            self.store.close()

    def _require_ready(self) -> None:
        if not self.ready:
            raise NotReadyError("the service is not ready (gallery loading or shutting down); retry later")

    def _stored(self, operation: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except StoreError:
            self._metrics.store_errors_total.labels(operation).inc()
            raise

    def _lock(self, subject: str) -> threading.Lock:
        return self._locks[zlib.crc32(subject.encode("utf-8", "surrogatepass")) % _LOCK_STRIPES]

    def _publish_size(self) -> None:
        self._metrics.set_gallery(len(self.gallery), self.gallery.templates)

    # -- work ----------------------------------------------------------------------------------

    def extract(self, image: bytes, dpi: int | None) -> Template:
        """Decode and extract one image; records its quality."""
        template = matcher.extract(matcher.load_image(image, dpi=dpi))
        self._metrics.extraction_quality.observe(template.image_quality)
        return template

    def enroll(self, subject: str, fingers: Mapping[FingerPosition, Template], *, replace: bool = False,
               check_duplicates: bool = False, reject_duplicates: bool = False,
               duplicate_fmr: float = DEFAULT_FMR) -> EnrollResult:
        """Store ``fingers`` for ``subject`` (created when new), durably, then add them to the gallery.

        Raises
        ------
        DuplicateIdError
            When the subject already holds one of the positions and ``replace`` is false.
        InvalidTemplateError
            For a template without minutiae (nothing could be matched against it).
        InvalidParameterError
            For a bad subject id, more than 10 fingers in all, or a bad ``duplicate_fmr``.
        """
        self._require_ready()
        for position, template in fingers.items():
            if len(template) == 0:
                raise matcher.InvalidTemplateError(
                    f"the template of finger {position.name} has no minutiae; capture the finger again")
        duplicates: tuple[Candidate, ...] = ()
        if check_duplicates:
            duplicates = self._duplicates(subject, fingers, duplicate_fmr)
            if duplicates:
                self._metrics.enroll_duplicates_total.inc()
                if reject_duplicates:
                    held = sorted(self.gallery.get(subject)) if subject in self.gallery else []
                    return EnrollResult(False, tuple(held), duplicates)
        with self._lock(subject):
            if subject in self.gallery:
                existing = self.gallery.get(subject)
                clash = sorted(set(existing) & set(fingers))
                if clash and not replace:
                    raise matcher.DuplicateIdError(
                        f"the subject already holds finger(s) {[p.name for p in clash]}; set replace to overwrite")
                merged = {**existing, **fingers}
                self._stored("put", lambda: self.store.put_subject(subject, merged, replace=True))
                self._apply(subject, lambda: self.gallery.replace(subject, merged), existing, merged)
            else:
                merged = dict(fingers)
                self._stored("put", lambda: self.store.put_subject(subject, merged))
                self._apply(subject, lambda: self.gallery.add(subject, merged), {}, merged)
        self._publish_size()
        return EnrollResult(True, tuple(sorted(merged)), duplicates)

    def _apply(self, subject: str, change: Callable[[], None], old: Mapping[FingerPosition, Any],
               new: Mapping[FingerPosition, Any]) -> None:
        """Mirror a committed store write in the gallery; on failure re-read the subject from the store."""
        try:
            change()
        except Exception:
            log.exception("gallery update failed after a committed store write; resynchronising the subject")
            self._resync(subject)
            raise
        self._positions.subtract(list(old))
        self._positions.update(list(new))

    def _resync(self, subject: str) -> None:
        if subject in self.gallery:
            self._positions.subtract(list(self.gallery.get(subject)))
            self.gallery.remove(subject)
        if self.store.has_subject(subject):
            fingers = self.store.get_subject(subject).fingers
            self.gallery.add(subject, fingers)
            self._positions.update(list(fingers))

    def _duplicates(self, subject: str, fingers: Mapping[FingerPosition, Template], fmr: float
                    ) -> tuple[Candidate, ...]:
        threshold = matcher.threshold_for_fmr(fmr)
        best: dict[str, Candidate] = {}
        for template in fingers.values():
            for found in self.gallery.search(template, k=_DUPLICATE_K, threads=self._threads):
                if found.subject != subject and found.score >= threshold:
                    if found.subject not in best or found.score > best[found.subject].score:
                        best[found.subject] = found
        return tuple(sorted(best.values(), key=lambda c: (-c.score, c.subject)))

    def verify(self, subject: str, probes: Sequence[tuple[FingerPosition, Template]], *,
               fmr: float = DEFAULT_FMR) -> VerifyResult:
        """1:1: each probe finger against the subject's finger at its position (UNKNOWN: its best
        finger), scores fused, decided at ``fmr``.

        Raises
        ------
        UnknownIdError
            When the subject is not enrolled.
        FailedPreconditionError
            When a probe's known position is not among the subject's fingers.
        InvalidParameterError
            For an ``fmr`` outside the calibration (checked before any scoring).
        """
        self._require_ready()
        threshold = matcher.threshold_for_fmr(fmr)
        enrolled = self.gallery.get(subject)
        scores = []
        for position, template in probes:
            probe = matcher.Matcher(template)
            if position != FingerPosition.UNKNOWN:
                if position not in enrolled:
                    raise FailedPreconditionError(
                        f"the subject has no enrolled finger at {position.name}; enrolled: "
                        f"{[p.name for p in sorted(enrolled)]}")
                scores.append(float(probe.score(enrolled[position])))
            else:
                scores.append(float(probe.score_many(list(enrolled.values()), threads=1).max()))
        score = _fused(scores)
        result = VerifyResult(score >= threshold, score, fmr, threshold, tuple(scores))
        self._metrics.verify_decisions_total.labels("accept" if result.match else "reject").inc()
        return result

    def identify(self, probes: Mapping[FingerPosition, Template], *, k: int = 10, same_finger_only: bool = False,
                 max_fmr: float | None = None) -> IdentifyResult:
        """1:N top-``k`` (optionally only candidates with ``fmr <= max_fmr``)."""
        self._require_ready()
        if max_fmr is not None and not 0.0 < max_fmr < 1.0:
            raise matcher.InvalidParameterError(f"max_fmr must be in (0, 1) or 0 for none, got {max_fmr!r}")
        candidates = self.gallery.search(dict(probes), k=k, fingers="same" if same_finger_only else None,
                                         threads=self._threads)
        if max_fmr is not None:
            candidates = [c for c in candidates if c.fmr <= max_fmr]
        templates = self.gallery.templates
        if self.gallery.mode == "exhaustive":  # other modes' shortlists are not reported by the library yet
            for position in probes:
                compared = self._positions[position] if same_finger_only else templates
                self._metrics.identify_penetration_ratio.observe(compared / templates if templates else 0.0)
        self._metrics.identify_candidates.observe(len(candidates))
        return IdentifyResult(tuple(candidates), len(self.gallery))

    def delete(self, subject: str) -> int:
        """Remove ``subject`` from the store (durably) and the gallery; returns its finger count."""
        self._require_ready()
        with self._lock(subject):
            fingers = self.gallery.get(subject) if subject in self.gallery else {}
            self._stored("delete", lambda: self.store.delete_subject(subject))
            if fingers:
                self.gallery.remove(subject)
                self._positions.subtract(list(fingers))
        self._publish_size()
        return len(fingers)

    def get(self, subject: str) -> SubjectRecord:
        """The stored record (decrypted templates, timestamps); :class:`UnknownIdError` when absent."""
        self._require_ready()
        return self._stored("get", lambda: self.store.get_subject(subject))
