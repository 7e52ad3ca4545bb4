"""``python -m benchmarks sim`` against a real in-process server (a short smoke run)."""

from __future__ import annotations

import json

import pytest

from benchmarks.__main__ import main


def test_sim_benchmark_reports_registrations(start_sim, request, tmp_path, capsys):
    if "postgresql" in request.node.name:
        pytest.skip("one backend is enough for the smoke run")
    sim = start_sim(rate_per_second=1e6, burst=1e6)
    status = main(["sim", "--target", f"127.0.0.1:{sim.service.grpc_port}", "--plaintext", "--admin-api-key",
                   sim.keys["admin"], "--api-key", sim.keys["mobily"], "--operator", "mobily", "--concurrency", "4",
                   "--duration", "0.5", "--subjects", "30", "--out", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    result = report["register"]
    assert report["enroll_codes"] == {"OK": 30} and result["codes"] == {"OK": result["requests"]}
    assert result["requests"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["reasons"].get("VERIFIED", 0) > 0 and set(result["reasons"]) <= {"VERIFIED", "LIMIT_REACHED", "NOT_MATCHED"}
    assert sim.rows("SELECT COUNT(*) FROM sim_bindings")[0][0] == result["reasons"]["VERIFIED"]
    assert "registrations/s" in capsys.readouterr().out
