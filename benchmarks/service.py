"""Service throughput and latency: ``python -m benchmarks service --target HOST:PORT ...``.

Against a running server (``make run`` or ``python -m server``):

1. Unless ``--skip-enroll``, ``--subjects`` synthetic subjects (``bench-<n>``, impression 0 of
   finger ``n`` of the template generator :mod:`datasets.synthetic.templates`, one right
   index each) are enrolled with native templates; subjects already enrolled are kept.
2. For ``--duration`` seconds, ``--concurrency`` requests are kept in flight (asyncio client,
   one process): Verify with native templates (half genuine: impression 1 of the subject's
   finger; half impostor: impression 1 of another subject's finger), so the figures measure
   the service (transport, auth, metrics, logging, matching) rather than extraction.
3. With ``--identify``, the same for Identify (one native probe finger, k=10).

Reports successful requests/s, p50/p99/max latency (of every request) in ms, errors by status code and, for Verify, the
accept rates of genuine and impostor probes; writes ``--out DIR/report.json``. The command
stops by itself after the measurements. Start the server with a rate limit above the load
(``--rate-limit 100000``): RESOURCE_EXHAUSTED replies are counted as errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

from benchmarks._common import latency_ms
from benchmarks.speed import cpu_name
from datasets._cli import positive_int, seconds
from datasets.synthetic.templates import impression
from matcher import formats
from server.api import pb, rpc
from server.client import add_connection_arguments

__all__ = ["add_parser", "run", "measure", "enroll", "run_to_report"]

_SEED = 7
_RIGHT_INDEX = pb.FINGER_POSITION_RIGHT_INDEX


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``service`` command."""
    parser = subparsers.add_parser(
        "service", help="gRPC service requests/s and p50/p99 latency (Verify, Identify) against a running server",
        description="Enrol synthetic subjects, then keep --concurrency Verify (and with --identify, Identify) "
                    "requests in flight for --duration seconds each.")
    add_connection_arguments(parser, target="127.0.0.1:50051")
    parser.add_argument("--api-key", help="API key of a principal with the admin role (enrols the subjects)")
    parser.add_argument("--concurrency", type=positive_int, default=8, help="requests in flight (default: %(default)s)")
    parser.add_argument("--duration", type=seconds, default=10.0, help="seconds per measurement (default: %(default)s)")
    parser.add_argument("--subjects", type=positive_int, default=1000, help="synthetic subjects (default: %(default)s)")
    parser.add_argument("--skip-enroll", action="store_true", help="the subjects are already enrolled")
    parser.add_argument("--identify", action="store_true", help="also measure Identify")
    parser.add_argument("--out", type=Path, default=Path("out/service"), help="folder for report.json")
    parser.set_defaults(run=run)
    return parser


def _channel(args: argparse.Namespace) -> grpc.aio.Channel:
    options = [("grpc.max_receive_message_length", 8 << 20)]
    if args.plaintext:
        return grpc.aio.insecure_channel(args.target, options=options)
    read = (lambda p: p.read_bytes() if p else None)  # noqa: E731
    credentials = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    return grpc.aio.secure_channel(args.target, credentials, options=options)


def _sample(finger: int, k: int) -> pb.FingerSample:
    return pb.FingerSample(finger_position=_RIGHT_INDEX, native_template=formats.dumps(impression(_SEED, finger, k)))


async def enroll(stub: rpc.BiometricsStub, metadata: tuple, subjects: int, concurrency: int, *,
                 subject_id: Any = None, sample: Any = None) -> Counter[str]:
    """Enrol subjects ``0 .. subjects-1`` (``subject_id(n)``, one finger ``sample(n, 0)``) with
    ``concurrency`` calls in flight; status code counts."""
    subject_id = subject_id or (lambda n: f"bench-{n:07d}")
    sample = sample or _sample
    codes: Counter[str] = Counter()
    queue = list(range(subjects))

    async def worker() -> None:
        while queue:
            n = queue.pop()
            request = pb.EnrollRequest(subject_id=subject_id(n), fingers=[sample(n, 0)])
            try:
                await stub.Enroll(request, metadata=metadata, timeout=60)
                codes["OK"] += 1
            except grpc.aio.AioRpcError as exc:
                codes[exc.code().name] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return codes


async def measure(call: Any, requests: list[tuple[Any, Any]], concurrency: int, seconds: float) -> dict[str, Any]:
    """Keep ``concurrency`` calls of ``call(request)`` in flight for ``seconds``; latency statistics.

    ``requests`` holds ``(request, tag)`` pairs taken round-robin; a call returns a reply whose
    outcome is counted per tag by :func:`_outcome`.
    """
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    stop = time.perf_counter() + seconds
    counter = iter(range(1 << 62))

    async def worker() -> None:
        while time.perf_counter() < stop:
            request, tag = requests[next(counter) % len(requests)]
            start = time.perf_counter()
            try:
                reply = await call(request)
                codes["OK"] += 1
                if tag is not None:
                    outcomes[f"{tag}_{'accept' if reply.match else 'reject'}"] += 1
            except grpc.aio.AioRpcError as exc:
                codes[exc.code().name] += 1
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "seconds": elapsed, "requests_per_s": codes["OK"] / elapsed,
            **latency_ms(latencies), "codes": dict(codes), "outcomes": dict(outcomes)}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    metadata = (("x-api-key", args.api_key),) if args.api_key else ()
    report: dict[str, Any] = {"target": args.target, "concurrency": args.concurrency, "duration_s": args.duration,
                              "subjects": args.subjects, "cpu": cpu_name(), "cpu_count": os.cpu_count(),
                              "python": platform.python_version()}
    async with _channel(args) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=30)
        stub = rpc.BiometricsStub(channel)
        if not args.skip_enroll:
            start = time.perf_counter()
            report["enroll_codes"] = dict(await enroll(stub, metadata, args.subjects, args.concurrency))
            report["enroll_seconds"] = time.perf_counter() - start
        rng = random.Random(1)
        picks = [rng.randrange(args.subjects) for _ in range(256)]
        verify_requests = []
        for i, n in enumerate(picks):
            genuine = i % 2 == 0
            other = n if genuine else (n + 1 + rng.randrange(args.subjects - 1)) % args.subjects if args.subjects > 1 else n
            verify_requests.append((pb.VerifyRequest(subject_id=f"bench-{n:07d}", probes=[_sample(other, 1)]),
                                    "genuine" if genuine else "impostor"))
        report["verify"] = await measure(lambda r: stub.Verify(r, metadata=metadata, timeout=30), verify_requests,
                                         args.concurrency, args.duration)
        if args.identify:
            identify_requests = [(pb.IdentifyRequest(probes=[_sample(n, 1)], k=10), None) for n in picks[:64]]
            report["identify"] = await measure(lambda r: stub.Identify(r, metadata=metadata, timeout=60),
                                               identify_requests, args.concurrency, args.duration)
    return report


def run_to_report(args: argparse.Namespace, command: str, measure_all: Any) -> dict[str, Any] | None:
    """Check the mTLS flags, run ``await measure_all(args)``, write ``--out``/report.json and return
    the report (None, after saying why, when ``--cert`` and ``--key`` are not given together)."""
    if (args.cert is None) != (args.key is None):
        print(f"benchmarks {command}: --cert and --key go together")
        return None
    report: dict[str, Any] = asyncio.run(measure_all(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def run(args: argparse.Namespace) -> int:
    """Run the service benchmark; print a summary; write report.json; 0 when no request failed."""
    report = run_to_report(args, "service", _run)
    if report is None:
        return 2
    failed = False
    for name in ("verify", "identify"):
        result = report.get(name)
        if result is None:
            continue
        errors = sum(v for k, v in result["codes"].items() if k != "OK")
        failed |= errors > 0
        print(f"{name:8s} {result['requests_per_s']:8.1f} requests/s  p50 {result['p50_ms'] or 0:7.2f} ms  "
              f"p99 {result['p99_ms'] or 0:7.2f} ms  ({result['requests']} requests, {errors} errors: "
              f"{result['codes']}) {result['outcomes'] or ''}")
    print(f"report: {args.out / 'report.json'}")
    return 1 if failed else 0
