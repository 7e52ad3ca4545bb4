"""Wire messages <-> library values: the only place that knows both shapes.

Request fields are checked here against the limits the ``.proto`` documents (fingers per
request, k, FMR defaults); the library validates the rest (images, templates, ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import matcher
from matcher import FingerPosition, Template
from matcher.index import Candidate
from server.api import pb
from server.core import DEFAULT_FMR, EnrollResult, IdentifyResult, VerifyResult
from server.storage import SubjectRecord

__all__ = ["MAX_FINGERS", "MAX_K", "DEFAULT_K", "subject_id", "samples", "fmr_or_default", "k_or_default"]

#: Fingers in one request (a person has ten).
MAX_FINGERS = 10
#: Largest Identify k, and its default.
MAX_K = 100
DEFAULT_K = 10
_TEMPLATE_FIELDS = {"iso_template": "iso", "ansi_template": "ansi", "native_template": "native"}
_FORMAT_NAMES = {pb.TEMPLATE_FORMAT_UNSPECIFIED: "native", pb.TEMPLATE_FORMAT_NATIVE: "native",
                 pb.TEMPLATE_FORMAT_ISO: "iso", pb.TEMPLATE_FORMAT_ANSI: "ansi"}
Extractor = Callable[[bytes, "int | None"], Template]


def subject_id(value: str, field: str = "subject_id") -> str:
    """The request's subject id, required (the library checks its characters)."""
    if not value:
        raise matcher.InvalidParameterError(f"{field} is required")
    return value


def position(code: int, where: str) -> FingerPosition:
    try:
        return FingerPosition(code)
    except ValueError:
        raise matcher.InvalidParameterError(f"{where}.finger_position must be 0..10, got {code}") from None


def sample(message: pb.FingerSample, extract: Extractor, where: str) -> tuple[FingerPosition, Template]:
    """One :class:`FingerSample` as ``(position, template)``, extracting an image with ``extract``."""
    kind = message.WhichOneof("sample")
    finger = position(message.finger_position, where)
    if kind is None:
        raise matcher.InvalidParameterError(f"{where} carries neither an image nor a template")
    if kind == "image":
        if not message.image.data:
            raise matcher.InvalidImageError(f"{where}.image.data is empty")
        return finger, extract(message.image.data, message.image.dpi or None)
    data = getattr(message, kind)
    if not data:
        raise matcher.InvalidTemplateError(f"{where}.{kind} is empty")
    return finger, matcher.formats.loads(data, format=_TEMPLATE_FIELDS[kind])


def samples(messages: Sequence[pb.FingerSample], extract: Extractor, field: str, *, distinct: bool
            ) -> list[tuple[FingerPosition, Template]]:
    """1 to :data:`MAX_FINGERS` samples; with ``distinct``, no position twice."""
    if not 1 <= len(messages) <= MAX_FINGERS:
        raise matcher.InvalidParameterError(f"{field} must hold 1 to {MAX_FINGERS} fingers, got {len(messages)}")
    result = [sample(m, extract, f"{field}[{i}]") for i, m in enumerate(messages)]
    if distinct:
        seen = [p for p, _ in result]
        twice = sorted({p.name for p in seen if seen.count(p) > 1})
        if twice:
            raise matcher.InvalidParameterError(f"{field} holds finger position(s) {twice} more than once")
    return result


def fmr_or_default(value: float, field: str = "fmr") -> float:
    """``value`` or :data:`DEFAULT_FMR` when 0 (range checked by the calibration)."""
    if value == 0.0:
        return DEFAULT_FMR
    if not 0.0 < value < 1.0:
        raise matcher.InvalidParameterError(f"{field} must be in (0, 1), or 0 for the default, got {value!r}")
    return value


def k_or_default(value: int) -> int:
    if value == 0:
        return DEFAULT_K
    if not 1 <= value <= MAX_K:
        raise matcher.InvalidParameterError(f"k must be in 1..{MAX_K}, or 0 for {DEFAULT_K}, got {value}")
    return value


def format_name(code: int) -> str:
    try:
        return _FORMAT_NAMES[code]
    except KeyError:
        raise matcher.InvalidParameterError(f"format must be a TemplateFormat code 0..3, got {code}") from None


def extract_response(template: Template, format_code: int) -> pb.ExtractResponse:
    name = format_name(format_code)
    code = pb.TEMPLATE_FORMAT_NATIVE if format_code == pb.TEMPLATE_FORMAT_UNSPECIFIED else format_code
    return pb.ExtractResponse(template=matcher.formats.dumps(template, format=name), format=code,
                              minutiae=len(template), quality=template.image_quality, width=template.width,
                              height=template.height, dpi=template.dpi)


def match(candidate: Candidate) -> pb.Match:
    return pb.Match(subject_id=candidate.subject, finger_position=int(candidate.finger),
                    score=candidate.score, fmr=candidate.fmr)


def enroll_response(result: EnrollResult, qualities: Iterable[int]) -> pb.EnrollResponse:
    return pb.EnrollResponse(enrolled=result.enrolled, finger_positions=[int(p) for p in result.positions],
                             duplicates=[match(c) for c in result.duplicates], qualities=list(qualities))


def verify_response(result: VerifyResult) -> pb.VerifyResponse:
    return pb.VerifyResponse(match=result.match, score=result.score, fmr=result.fmr, threshold=result.threshold,
                             finger_scores=list(result.finger_scores))


def identify_response(result: IdentifyResult) -> pb.IdentifyResponse:
    return pb.IdentifyResponse(candidates=[match(c) for c in result.candidates],
                               gallery_subjects=result.gallery_subjects)


def _unix_ms(moment) -> int:  # type: ignore[no-untyped-def]
    return int(round(moment.timestamp() * 1000))


def subject_response(record: SubjectRecord, *, with_templates: bool) -> pb.GetSubjectResponse:
    fingers = []
    for finger, template in sorted(record.fingers.items()):
        fingers.append(pb.FingerInfo(
            finger_position=int(finger), minutiae=len(template), quality=template.image_quality,
            width=template.width, height=template.height, dpi=template.dpi,
            native_template=matcher.formats.dumps(template) if with_templates else b""))
    return pb.GetSubjectResponse(subject_id=record.subject, fingers=fingers,
                                 created_at_unix_ms=_unix_ms(record.created_at),
                                 updated_at_unix_ms=_unix_ms(record.updated_at))
