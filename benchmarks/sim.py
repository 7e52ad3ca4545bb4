"""SIM registrations per second: ``python -m benchmarks sim --target HOST:PORT ...``.

Against a running server (``make run`` or ``python -m server``), as the registry admin and an
operator principal:

1. Unless ``--skip-enroll``, ``--subjects`` synthetic subjects are enrolled (national ids
   ``19NNNNNNN`` + check digit; impression 0 of finger ``n`` of the template generator
   :mod:`datasets.synthetic.templates`, one right index each); subjects already enrolled are kept.
2. For ``--duration`` seconds, ``--concurrency`` RegisterSim requests are kept in flight
   (asyncio client, one process): channel store, a fresh MSISDN and idempotency key each,
   subjects round-robin, the capture impression 1 of the subject's finger as a native template,
   so the figures measure the flow (auth, 1:N fraud check, 1:1 verification, the transaction
   with binding, outbox and audit) rather than extraction.

Reports registrations/s (replies of any decision), p50/p99/max latency in ms, decisions by
reason and errors by status code; writes ``--out DIR/report.json``. Stops by itself. Start the
server with a rate limit above the load (``--rate-limit 100000``) and a policy whose SIM limits
do not refuse most requests (each subject may hold ``max_active_sims_per_operator`` SIMs: use
enough subjects, or expect LIMIT_REACHED replies, which are still full decisions).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

from benchmarks._common import latency_ms
from benchmarks.service import _channel, enroll, run_to_report
from benchmarks.speed import cpu_name
from datasets._cli import positive_int, seconds
from datasets.synthetic.templates import impression
from matcher import formats
from server.api import pb, rpc
from server.client import add_connection_arguments
from server.sim.ids import with_check_digit
from server.sim.wire import simpb, simrpc

__all__ = ["add_parser", "run", "subject_id"]

_SEED = 11
_RIGHT_INDEX = pb.FINGER_POSITION_RIGHT_INDEX


def subject_id(n: int) -> str:
    """The national id of benchmark subject ``n`` (valid check digit).

    Examples
    --------
    >>> subject_id(0), subject_id(42)
    ('1900000009', '1900000421')
    """
    return with_check_digit(f"19{n:07d}")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sim`` command."""
    parser = subparsers.add_parser(
        "sim", help="SIM registrations/s and p50/p99 latency against a running server",
        description="Enrol synthetic subjects, then keep --concurrency RegisterSim requests in flight for "
                    "--duration seconds.")
    add_connection_arguments(parser, target="127.0.0.1:50051")
    parser.add_argument("--admin-api-key", help="API key of an admin principal (enrols the subjects)")
    parser.add_argument("--api-key", required=True, help="API key of an operator principal")
    parser.add_argument("--operator", required=True, help="the operator that principal acts for (make run: dev)")
    parser.add_argument("--concurrency", type=positive_int, default=8, help="requests in flight (default: %(default)s)")
    parser.add_argument("--duration", type=seconds, default=10.0, help="seconds of measurement (default: %(default)s)")
    parser.add_argument("--subjects", type=positive_int, default=1000, help="synthetic subjects (default: %(default)s)")
    parser.add_argument("--skip-enroll", action="store_true", help="the subjects are already enrolled")
    parser.add_argument("--out", type=Path, default=Path("out/sim"), help="folder for report.json")
    parser.set_defaults(run=run)
    return parser


def _sample(n: int, k: int) -> pb.FingerSample:
    return pb.FingerSample(finger_position=_RIGHT_INDEX, native_template=formats.dumps(impression(_SEED, n, k)))


async def _register(stub: simrpc.SimRegistrationStub, metadata: tuple, args: argparse.Namespace) -> dict[str, Any]:
    captures = [_sample(n, 1) for n in range(args.subjects)]
    base = random.Random().randrange(10 ** 7) * 10  # MSISDNs 05XXXXXXXX from a random start
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    counter = iter(range(1 << 62))
    stop = time.perf_counter() + args.duration

    async def worker() -> None:
        while time.perf_counter() < stop:
            i = next(counter)
            n = i % args.subjects
            request = simpb.RegisterSimRequest(
                national_id=subject_id(n), msisdn=f"05{(base + i) % 10 ** 8:08d}", operator=args.operator,
                sim_type=simpb.SIM_TYPE_PREPAID, channel=simpb.CHANNEL_STORE,
                captures=[captures[n]],
                idempotency_key=uuid.uuid4().hex)
            start = time.perf_counter()
            try:
                reply = await stub.RegisterSim(request, metadata=metadata, timeout=60)
                codes["OK"] += 1
                reasons[simpb.Reason.Name(reply.reason).removeprefix("REASON_")] += 1
            except grpc.aio.AioRpcError as exc:
                codes[exc.code().name] += 1
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "seconds": elapsed, "registrations_per_s": codes["OK"] / elapsed,
            **latency_ms(latencies), "codes": dict(codes), "reasons": dict(reasons)}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"target": args.target, "concurrency": args.concurrency, "duration_s": args.duration,
                              "subjects": args.subjects, "operator": args.operator, "cpu": cpu_name(),
                              "cpu_count": os.cpu_count(), "python": platform.python_version()}
    async with _channel(args) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=30)
        if not args.skip_enroll:
            admin = (("x-api-key", args.admin_api_key),) if args.admin_api_key else ()
            start = time.perf_counter()
            report["enroll_codes"] = dict(await enroll(rpc.BiometricsStub(channel), admin, args.subjects,
                                                       args.concurrency, subject_id=subject_id, sample=_sample))
            report["enroll_seconds"] = time.perf_counter() - start
        report["register"] = await _register(simrpc.SimRegistrationStub(channel), (("x-api-key", args.api_key),),
                                             args)
    return report


def run(args: argparse.Namespace) -> int:
    """Run the SIM benchmark; print a summary; write report.json; 0 when no request failed."""
    report = run_to_report(args, "sim", _run)
    if report is None:
        return 2
    result = report["register"]
    errors = sum(v for k, v in result["codes"].items() if k != "OK")
    print(f"register {result['registrations_per_s']:8.1f} registrations/s  p50 {result['p50_ms'] or 0:7.2f} ms  "
          f"p99 {result['p99_ms'] or 0:7.2f} ms  ({result['requests']} requests, {errors} errors: {result['codes']}) "
          f"{result['reasons']}")
    print(f"report: {args.out / 'report.json'}")
    return 1 if errors else 0
