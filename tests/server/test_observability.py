"""Metrics, health, reflection, request ids, JSON access logs (masked ids), rate limits, shutdown."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.request

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import matcher
from server.api import pb
from server.client import template_sample
from server.logs import JsonFormatter
from tests.server.conftest import native
from tests.server.test_rpcs import code_of


def scrape(service) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=10) as reply:
        return reply.read().decode()


def test_metrics_expose_the_expected_series(service, connect):
    admin = connect(service)
    admin.enroll("1234567890", [template_sample(native(1), finger=2)])
    admin.verify("1234567890", [template_sample(native(1), finger=2)])
    admin.verify("1234567890", [template_sample(native(2), finger=2)])
    admin.identify([template_sample(native(1))])
    code_of(admin.get, "0987654321")
    text = scrape(service)
    for line in ('basma_rpc_requests_total{code="OK",method="Enroll"} 1.0',
                 'basma_rpc_requests_total{code="NOT_FOUND",method="GetSubject"} 1.0',
                 'basma_rpc_duration_seconds_count{code="OK",method="Verify"} 2.0',
                 'basma_verify_decisions_total{decision="accept"} 1.0',
                 'basma_verify_decisions_total{decision="reject"} 1.0',
                 'basma_identify_candidates_count 1.0', 'basma_identify_penetration_ratio_count 1.0',
                 'basma_gallery_subjects 1.0', 'basma_gallery_templates 1.0', 'basma_ready 1.0',
                 'basma_identify_second_passes_total 0.0'):   # the default gallery is exhaustive: no second pass
        assert line in text, line
    assert "basma_extraction_quality_bucket" in text and "basma_store_errors_total" not in text.replace(
        "# HELP basma_store_errors_total", "").replace("# TYPE basma_store_errors_total", "")
    assert "1234567890" not in text and "0987654321" not in text


def test_health_serving_and_reflection_without_credentials(service):
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "basma.v1.Biometrics"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = {s.name for r in replies for s in r.list_services_response.service}
        assert {"basma.v1.Biometrics", "grpc.health.v1.Health"} <= names


def test_request_id_is_echoed_and_logged_with_masked_subject(start_service, connect):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("tests.server.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    try:
        service = start_service(access_log=access)
        admin = connect(service)
        request = pb.EnrollRequest(subject_id="1234567890", fingers=[template_sample(native(1), finger=2)])
        _, call = admin.stub.Enroll.with_call(request, metadata=admin.metadata + (("x-request-id", "req-42"),),
                                              timeout=10)
        assert dict(call.initial_metadata())["x-request-id"] == "req-42"
        code_of(admin.get, "5550001111")
    finally:
        access.removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    enrol = next(r for r in records if r["method"] == "Enroll")
    assert enrol["request_id"] == "req-42" and enrol["code"] == "OK" and enrol["principal"] == "dev-admin"
    assert enrol["subject"] == "12******90" and enrol["duration_ms"] >= 0
    missing = next(r for r in records if r["method"] == "GetSubject")
    assert missing["code"] == "NOT_FOUND" and len(missing["request_id"]) == 32
    assert "1234567890" not in stream.getvalue() and "5550001111" not in stream.getvalue()


def test_per_principal_rate_limit(start_service, connect):
    service = start_service(rate_per_second=0.01, burst=2)
    admin = connect(service)
    researcher = connect(service, "researcher")
    admin.enroll("s1", [template_sample(native(1), finger=2)])
    admin.verify("s1", [template_sample(native(1), finger=2)])
    assert code_of(admin.verify, "s1", [template_sample(native(1), finger=2)]) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert researcher.verify("s1", [template_sample(native(1), finger=2)]).match  # its own bucket


def test_graceful_shutdown_drains_in_flight_calls(service, connect):
    rows, cols = np.mgrid[0:900, 0:900]
    stripes = (127 + 100 * np.sin(2 * np.pi * (cols + rows / 3) / 9)).astype(np.uint8)
    image = matcher.load_image(stripes, dpi=500).encode("PNG")
    client = connect(service)
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            outcome["reply"] = client.extract(image)
        except grpc.RpcError as exc:  # pragma: no cover - reported by the assertion below
            outcome["error"] = exc.code()

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 10
    in_flight = {"method": "Extract"}
    while (service.metrics.registry.get_sample_value("basma_rpc_in_flight", in_flight) or 0) < 1 \
            and time.monotonic() < deadline:
        time.sleep(0.005)
    service.stop(grace_seconds=30)
    worker.join(30)
    assert "reply" in outcome, outcome
    assert not service.core.ready
    with pytest.raises(grpc.RpcError):
        connect(service).verify("s1", [template_sample(native(1))])


def test_grafana_dashboard_covers_exactly_the_defined_metrics():
    import re

    from server.metrics import Metrics
    from tests.server.conftest import REPO_ROOT

    dashboard = json.loads((REPO_ROOT / "docs" / "grafana" / "basma-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(bucket|sum|count|total)$", "", name) for e in exprs for name in re.findall(r"basma_\w+", e)}
    defined = {family.name for family in Metrics().registry.collect()}
    assert used == defined
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
