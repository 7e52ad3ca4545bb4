"""``python -m benchmarks service`` against a real in-process server (a short smoke run)."""

from __future__ import annotations

import json

from benchmarks.__main__ import main


def test_service_benchmark_reports_verify_and_identify(start_service, dev, tmp_path, capsys):
    service = start_service(rate_per_second=1e6, burst=1e6)
    status = main(["service", "--target", f"127.0.0.1:{service.grpc_port}", "--plaintext", "--api-key",
                   dev.keys["admin"], "--concurrency", "4", "--duration", "0.3", "--subjects", "20", "--identify",
                   "--out", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["enroll_codes"] == {"OK": 20} and len(service.core.gallery) == 20
    for name in ("verify", "identify"):
        result = report[name]
        assert result["requests"] > 0 and result["codes"] == {"OK": result["requests"]}
        assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    outcomes = report["verify"]["outcomes"]
    assert outcomes.get("impostor_accept", 0) == 0 and outcomes.get("genuine_accept", 0) > 0
    assert "verify" in capsys.readouterr().out
