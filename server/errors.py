"""The service's own error types and the only mapping of errors to gRPC status codes.

Every deliberate failure is a :class:`matcher.MatcherError`: the library's (bad image, bad
template, unknown or duplicate id, bad parameter), the store's (:mod:`server.storage`) and the
service's below (credentials, roles, rate limits, readiness, deadlines). :func:`status_of`
turns any exception into ``(grpc.StatusCode, message)``; anything unexpected becomes
``INTERNAL`` with a generic message, so no stack trace or internal detail reaches a client.
"""

from __future__ import annotations

import grpc

import matcher
from server.storage import CorruptRecordError, StoreError, StoreUnavailableError

__all__ = [
    "ServiceError", "UnauthenticatedError", "PermissionDeniedError", "RateLimitedError",
    "NotReadyError", "FailedPreconditionError", "DeadlineExceededError", "ConfigError", "status_of",
]


class ServiceError(matcher.MatcherError):
    """Base of the errors the service raises on purpose (outside the library and the store)."""


class UnauthenticatedError(ServiceError):
    """No credentials, or credentials that name no principal."""


class PermissionDeniedError(ServiceError):
    """The principal's roles do not allow this call (or this option of it)."""


class RateLimitedError(ServiceError):
    """The principal sent more requests than its rate limit allows."""


class NotReadyError(ServiceError):
    """The service is starting (gallery not loaded yet) or shutting down."""


class FailedPreconditionError(ServiceError):
    """The request is valid but the stored state does not allow it (e.g. no finger at that position)."""


class DeadlineExceededError(ServiceError):
    """The caller's deadline passed, or leaves no time for the work asked."""


class ConfigError(ServiceError, ValueError):
    """A command-line option, environment variable or configuration file is invalid."""


#: Most specific first: the first matching class decides the code.
_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (RateLimitedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotReadyError, grpc.StatusCode.UNAVAILABLE),
    (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (DeadlineExceededError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (StoreUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (CorruptRecordError, grpc.StatusCode.DATA_LOSS),
    (matcher.UnknownIdError, grpc.StatusCode.NOT_FOUND),
    (matcher.DuplicateIdError, grpc.StatusCode.ALREADY_EXISTS),
    (matcher.InvalidImageError, grpc.StatusCode.INVALID_ARGUMENT),
    (matcher.InvalidTemplateError, grpc.StatusCode.INVALID_ARGUMENT),
    (matcher.InvalidParameterError, grpc.StatusCode.INVALID_ARGUMENT),
)

#: Codes whose message is replaced by a fixed one: the original may name internals.
_GENERIC = {
    StoreUnavailableError: "the template store is unavailable; retry later",
    CorruptRecordError: "a stored record failed its integrity check; the operator has been alerted",
}
INTERNAL_MESSAGE = "internal error"


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and client-safe message for ``exc``.

    Parameters
    ----------
    exc : BaseException
        What a servicer or interceptor raised.

    Returns
    -------
    (grpc.StatusCode, str)
        ``INTERNAL`` and a generic message for anything that is not a known
        :class:`matcher.MatcherError`; never a stack trace.

    Examples
    --------
    >>> status_of(matcher.UnknownIdError("subject '42' is not enrolled"))
    (<StatusCode.NOT_FOUND: (5, 'not found')>, "subject '42' is not enrolled")
    >>> status_of(ZeroDivisionError("division by zero"))[1]
    'internal error'
    """
    for kind, code in _CODES:
        if isinstance(exc, kind):
            generic = _GENERIC.get(kind)
            return code, generic if generic is not None else (str(exc) or kind.__name__)
    if isinstance(exc, StoreError):
        return grpc.StatusCode.INTERNAL, "the template store failed; the operator has been alerted"
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def is_expected(exc: BaseException) -> bool:
    """True for errors caused by the request or the environment (logged without a traceback)."""
    return any(isinstance(exc, kind) for kind, _ in _CODES)
