"""Every Prometheus metric of the service, defined once (prefix ``basma_``, base units).

Labels are low-cardinality only: the RPC method (6 values), the gRPC status code (17), a
decision (accept/reject), a store operation, or for SIM registration a channel (4), decision (3),
reason (9) and OTP outcome (5). Never a subject id, a phone number or a
template. Each :class:`Metrics` owns its registry, so several servers can live in one process
(the tests) and ``/metrics`` shows exactly these series.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

__all__ = ["Metrics", "serve_metrics"]

_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_QUALITY_BUCKETS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
_CANDIDATE_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100)
_RATIO_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0)


class Metrics:
    """The service's collectors, registered in ``registry`` (a fresh one by default).

    Attributes
    ----------
    rpc_duration_seconds : Histogram {method, code}
        Server-side latency of each RPC, from the first interceptor to the reply.
    rpc_requests_total : Counter {method, code}
        Finished RPCs.
    rpc_in_flight : Gauge {method}
        RPCs being served.
    verify_decisions_total : Counter {decision}
        Verify outcomes: ``accept`` / ``reject``.
    identify_candidates : Histogram
        Candidates returned per Identify.
    identify_penetration_ratio : Histogram
        Fraction of the gallery's fingers compared per Identify probe finger.
    basma_identify_second_passes_total : Counter (read at scrape time, :meth:`count_second_passes`)
        Probe fingers searched a second, deeper time by the index (no confident mate shortlisted).
    enroll_duplicates_total : Counter
        Enrolments whose duplicate check found another subject.
    gallery_subjects, gallery_templates : Gauge
        Size of the in-memory gallery.
    extraction_quality : Histogram
        Image quality score (0-100) of every extracted image.
    store_errors_total : Counter {operation}
        Failed store operations (put, delete, get, load).
    ready : Gauge
        1 once the gallery is loaded and the service is SERVING, else 0.
    sim_registrations_total : Counter {operation, channel, decision, reason}
        SIM registrations and transfers by outcome (replayed idempotent retries not counted).
    sim_fraud_flags_total : Counter
        Registrations refused because a capture identified another subject.
    sim_otp_total : Counter {outcome}
        One-time codes: ``requested`` and each ConfirmOtp outcome.
    sim_outbox_pending : Gauge
        SMS waiting in the outbox (as of the delivery worker's last pass).
    sim_outbox_delivered_total, sim_outbox_failures_total : Counter
        SMS deliveries and failed delivery attempts (retried).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True) if registry is None else registry
        r = self.registry
        self.rpc_duration_seconds = Histogram(
            "basma_rpc_duration_seconds", "Server-side RPC latency in seconds.", ["method", "code"],
            buckets=_LATENCY_BUCKETS_S, registry=r)
        self.rpc_requests_total = Counter(
            "basma_rpc_requests", "Finished RPCs by method and gRPC status code.", ["method", "code"], registry=r)
        self.rpc_in_flight = Gauge("basma_rpc_in_flight", "RPCs being served.", ["method"], registry=r)
        self.verify_decisions_total = Counter(
            "basma_verify_decisions", "Verify decisions.", ["decision"], registry=r)
        self.identify_candidates = Histogram(
            "basma_identify_candidates", "Candidates returned per Identify.", buckets=_CANDIDATE_BUCKETS, registry=r)
        self.identify_penetration_ratio = Histogram(
            "basma_identify_penetration_ratio", "Fraction of gallery fingers compared per probe finger.",
            buckets=_RATIO_BUCKETS, registry=r)
        self.enroll_duplicates_total = Counter(
            "basma_enroll_duplicates", "Enrolments whose duplicate check found another subject.", registry=r)
        self.gallery_subjects = Gauge("basma_gallery_subjects", "Subjects in the in-memory gallery.", registry=r)
        self.gallery_templates = Gauge("basma_gallery_templates", "Fingers in the in-memory gallery.", registry=r)
        self.extraction_quality = Histogram(
            "basma_extraction_quality", "Image quality score (0-100) of extracted images.",
            buckets=_QUALITY_BUCKETS, registry=r)
        self.store_errors_total = Counter(
            "basma_store_errors", "Failed template store operations.", ["operation"], registry=r)
        self.ready = Gauge("basma_ready", "1 when the service is SERVING.", registry=r)
        self.sim_registrations_total = Counter(
            "basma_sim_registrations", "SIM registrations by operation, channel, decision and reason.",
            ["operation", "channel", "decision", "reason"], registry=r)
        self.sim_fraud_flags_total = Counter(
            "basma_sim_fraud_flags", "SIM registrations refused and flagged: a capture identified another subject.",
            registry=r)
        self.sim_otp_total = Counter("basma_sim_otp", "One-time codes requested and confirmation outcomes.",
                                     ["outcome"], registry=r)
        self.sim_outbox_pending = Gauge("basma_sim_outbox_pending", "SMS waiting in the outbox.", registry=r)
        self.sim_outbox_delivered_total = Counter("basma_sim_outbox_delivered", "SMS delivered from the outbox.",
                                                  registry=r)
        self.sim_outbox_failures_total = Counter(
            "basma_sim_outbox_delivery_failures", "Failed SMS delivery attempts (each is retried).", registry=r)

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """Record one finished RPC (``method`` short name, ``code`` a status code name)."""
        self.rpc_duration_seconds.labels(method, code).observe(seconds)
        self.rpc_requests_total.labels(method, code).inc()

    def count_second_passes(self, read: Callable[[], int]) -> None:
        """Publish ``read()``, the cumulative count of probe fingers that took the 1:N index's
        second pass, as ``basma_identify_second_passes_total`` (called at each scrape)."""
        self.registry.register(_ReadCounter(
            "basma_identify_second_passes", "Probe fingers searched a second, deeper time by the 1:N index.", read))

    def set_gallery(self, subjects: int, templates: int) -> None:
        """Update the gallery size gauges."""
        self.gallery_subjects.set(subjects)
        self.gallery_templates.set(templates)


class _ReadCounter:
    """A counter whose value lives elsewhere and is read at each scrape."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self._name, self._documentation, self._read = name, documentation, read

    def describe(self) -> list[CounterMetricFamily]:
        return [CounterMetricFamily(self._name, self._documentation)]

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # scrapes are not worth a log line
        pass


def serve_metrics(metrics: Metrics, host: str, port: int):  # type: ignore[no-untyped-def]
    """Serve ``/metrics`` over HTTP from a daemon thread; return ``(http_server, port)``.

    Call ``http_server.shutdown()`` then ``http_server.server_close()`` to stop it (returns
    within about 50 ms).
    """
    http_server = make_server(host, port, make_wsgi_app(metrics.registry), ThreadingWSGIServer,
                              handler_class=_QuietHandler)
    threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.05},
                     name="basma-metrics", daemon=True).start()
    return http_server, int(http_server.server_port)
