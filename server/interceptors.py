"""Cross-cutting work around every RPC, each interceptor with its sinks injected.

Order (outermost first, as given to ``grpc.server``): :class:`ObserveInterceptor` (request id,
deadline check, error -> status mapping through :func:`server.errors.status_of`, metrics,
JSON access log), :class:`AuthInterceptor` (principal and role), :class:`RateLimitInterceptor`
(per-principal token bucket). Health and reflection pass through untouched (no credentials).
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from server.auth import PUBLIC_PREFIXES, Principal, Principals, authorize
from server.errors import (
    DeadlineExceededError,
    RateLimitedError,
    UnauthenticatedError,
    is_expected,
    status_of,
)
from server.logs import mask_id
from server.metrics import Metrics

__all__ = ["CallState", "current_call", "ObserveInterceptor", "AuthInterceptor", "RateLimitInterceptor",
           "RateLimiter", "REQUEST_ID_HEADER"]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
Behavior = Callable[[Any, grpc.ServicerContext], Any]


@dataclass
class CallState:
    """What the interceptors learned about the call being served (one per RPC)."""

    method: str
    request_id: str
    principal: Principal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_CALL: contextvars.ContextVar[CallState | None] = contextvars.ContextVar("basma_call", default=None)


def current_call() -> CallState:
    """The state of the RPC served by this thread (:class:`UnauthenticatedError` outside one)."""
    state = _CALL.get()
    if state is None or state.principal is None:
        raise UnauthenticatedError("no authenticated call in progress")
    return state


class _UnaryInterceptor(grpc.ServerInterceptor):
    """Wraps the unary-unary behaviour of every non-public method with :meth:`around`."""

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        inner = handler.unary_unary

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            return self.around(inner, request, context, method)

        return grpc.unary_unary_rpc_method_handler(behavior, request_deserializer=handler.request_deserializer,
                                                   response_serializer=handler.response_serializer)

    def around(self, inner: Behavior, request: Any, context: grpc.ServicerContext, method: str) -> Any:
        raise NotImplementedError


class ObserveInterceptor(_UnaryInterceptor):
    """Request id in and out, deadline check, status mapping, metrics and the access log.

    Parameters
    ----------
    metrics : Metrics
        Where RPC latency, counts and in-flight gauges go.
    access_log : logging.Logger
        One INFO record per RPC (ids masked); unexpected errors at ERROR with the traceback.
    clock : callable
        Monotonic seconds (injected for tests).
    """

    def __init__(self, metrics: Metrics, access_log: logging.Logger,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._metrics = metrics
        self._log = access_log
        self._clock = clock

    def around(self, inner: Behavior, request: Any, context: grpc.ServicerContext, method: str) -> Any:
        start = self._clock()
        short = method.rsplit("/", 1)[-1]
        sent = dict(context.invocation_metadata()).get(REQUEST_ID_HEADER, "")
        request_id = sent if isinstance(sent, str) and _REQUEST_ID.match(sent) else uuid.uuid4().hex
        context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))
        state = CallState(method=short, request_id=request_id)
        token = _CALL.set(state)
        in_flight = self._metrics.rpc_in_flight.labels(short)
        in_flight.inc()
        code = grpc.StatusCode.OK
        failure: BaseException | None = None
        try:
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceededError("the deadline passed before the call was served")
            return inner(request, context)
        except Exception as exc:  # every failure is mapped here, and only here
            failure = exc
            code, message = status_of(exc)
            context.abort(code, message)
        finally:
            _CALL.reset(token)
            in_flight.dec()
            seconds = self._clock() - start
            self._metrics.observe_rpc(short, code.name, seconds)
            self._access(state, request, code, seconds, failure)

    def _access(self, state: CallState, request: Any, code: grpc.StatusCode, seconds: float,
                failure: BaseException | None) -> None:
        fields = {"request_id": state.request_id, "method": state.method, "code": code.name,
                  "duration_ms": round(seconds * 1000.0, 3),
                  "principal": state.principal.name if state.principal else "",
                  "operator": state.principal.operator if state.principal else "",
                  "subject": mask_id(getattr(request, "subject_id", "") or getattr(request, "national_id", "") or "")}
        fields.update(state.extra)
        if failure is not None and not is_expected(failure):
            self._log.error("rpc failed: %s", type(failure).__name__, extra=fields,
                            exc_info=(type(failure), failure, failure.__traceback__))
        else:
            if failure is not None:
                fields["error"] = type(failure).__name__
            self._log.info("rpc", extra=fields)


class AuthInterceptor(_UnaryInterceptor):
    """Finds the principal (API key or client certificate) and checks its role for the method."""

    def __init__(self, principals: Principals) -> None:
        self._principals = principals

    def around(self, inner: Behavior, request: Any, context: grpc.ServicerContext, method: str) -> Any:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        auth = context.auth_context() or {}
        names = [v.decode("utf-8", "replace") for v in auth.get("x509_common_name", [])]
        principal = self._principals.authenticate(metadata, names)
        state = _CALL.get()
        if state is not None:
            state.principal = principal
        authorize(principal, method)
        return inner(request, context)


class RateLimiter:
    """Per-key token buckets: ``rate`` tokens/s refill, at most ``burst`` banked.

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = RateLimiter(rate=1.0, burst=2, clock=lambda: now[0])
    >>> [limiter.allow("a") for _ in range(3)]
    [True, True, False]
    >>> now[0] = 1.0; limiter.allow("a")
    True
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = float(rate)
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, rate: float | None = None) -> bool:
        """Take one token from ``key``'s bucket (refilled at ``rate``, default the limiter's)."""
        rate = self._rate if rate is None else rate
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        return allowed


class RateLimitInterceptor(_UnaryInterceptor):
    """RESOURCE_EXHAUSTED when the principal's bucket is empty (runs after authentication)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    def around(self, inner: Behavior, request: Any, context: grpc.ServicerContext, method: str) -> Any:
        state = _CALL.get()
        principal = state.principal if state is not None else None
        if principal is not None and not self._limiter.allow(principal.name, principal.rate_per_second):
            raise RateLimitedError(f"rate limit of principal {principal.name!r} exceeded; retry later")
        return inner(request, context)
