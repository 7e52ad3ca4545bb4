"""The ``basma.v1.Biometrics`` servicer: convert the request, call the core, convert the reply.

Authentication, roles, rate limits, request ids, metrics, logging and the mapping of errors to
status codes happen in :mod:`server.interceptors`; this module only raises typed errors.
"""

from __future__ import annotations

import grpc

from server import convert
from server.api import pb, rpc
from server.auth import TEMPLATE_READERS
from server.core import Core
from server.errors import DeadlineExceededError, PermissionDeniedError
from server.interceptors import current_call

__all__ = ["BiometricsServicer"]


def _check_deadline(context: grpc.ServicerContext, what: str) -> None:
    """Refuse to start ``what`` when the caller's deadline has already passed."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlineExceededError(f"the deadline passed before {what}")


class BiometricsServicer(rpc.BiometricsServicer):
    """Thin servicer over a :class:`server.core.Core`."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def _samples(self, messages, field: str, context: grpc.ServicerContext, *, distinct: bool):  # type: ignore[no-untyped-def]
        _check_deadline(context, "extraction")
        return convert.samples(messages, self._core.extract, field, distinct=distinct)

    def Extract(self, request: pb.ExtractRequest, context: grpc.ServicerContext) -> pb.ExtractResponse:
        convert.format_name(request.format)
        sample = pb.FingerSample(image=request.image) if request.HasField("image") else pb.FingerSample()
        _check_deadline(context, "extraction")
        _, template = convert.sample(sample, self._core.extract, "image")
        return convert.extract_response(template, request.format)

    def Enroll(self, request: pb.EnrollRequest, context: grpc.ServicerContext) -> pb.EnrollResponse:
        subject = convert.subject_id(request.subject_id)
        fmr = convert.fmr_or_default(request.duplicate_fmr, "duplicate_fmr")
        fingers = self._samples(request.fingers, "fingers", context, distinct=True)
        _check_deadline(context, "enrolment")
        result = self._core.enroll(subject, dict(fingers), replace=request.replace,
                                   check_duplicates=request.check_duplicates,
                                   reject_duplicates=request.reject_duplicates, duplicate_fmr=fmr)
        return convert.enroll_response(result, [t.image_quality for _, t in fingers])

    def Verify(self, request: pb.VerifyRequest, context: grpc.ServicerContext) -> pb.VerifyResponse:
        subject = convert.subject_id(request.subject_id)
        fmr = convert.fmr_or_default(request.fmr)
        probes = self._samples(request.probes, "probes", context, distinct=False)
        _check_deadline(context, "matching")
        return convert.verify_response(self._core.verify(subject, probes, fmr=fmr))

    def Identify(self, request: pb.IdentifyRequest, context: grpc.ServicerContext) -> pb.IdentifyResponse:
        k = convert.k_or_default(request.k)
        max_fmr = request.max_fmr or None
        probes = self._samples(request.probes, "probes", context, distinct=True)
        _check_deadline(context, "the search")
        result = self._core.identify(dict(probes), k=k, same_finger_only=request.same_finger_only,
                                     max_fmr=max_fmr)
        return convert.identify_response(result)

    def DeleteSubject(self, request: pb.DeleteSubjectRequest, context: grpc.ServicerContext
                      ) -> pb.DeleteSubjectResponse:
        count = self._core.delete(convert.subject_id(request.subject_id))
        return pb.DeleteSubjectResponse(fingers_deleted=count)

    def GetSubject(self, request: pb.GetSubjectRequest, context: grpc.ServicerContext) -> pb.GetSubjectResponse:
        subject = convert.subject_id(request.subject_id)
        if request.include_templates:
            principal = current_call().principal
            if principal is None or not principal.roles & TEMPLATE_READERS:
                raise PermissionDeniedError(f"reading templates needs one of the roles {sorted(TEMPLATE_READERS)}")
        record = self._core.get(subject)
        return convert.subject_response(record, with_templates=request.include_templates)
