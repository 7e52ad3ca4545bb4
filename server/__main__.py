"""``python -m server --data-dir DIR --grpc-port N --metrics-port M --principals FILE ...``

Runs the service in the foreground until SIGTERM or SIGINT, then shuts down gracefully.
Options: ``python -m server --help`` and docs/SERVICE.md.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence

import matcher
from server.app import Service
from server.config import parse_args
from server.logs import configure_logging

log = logging.getLogger("server")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service; returns the exit status (2 for a configuration error)."""
    try:
        config = parse_args(argv)
    except matcher.MatcherError as exc:
        print(f"python -m server: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    service = Service(config)
    try:
        service.start(wait_for_gallery=False)
    except matcher.MatcherError as exc:
        log.error("cannot start: %s", exc)
        service.stop(0)
        return 2
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal received, shutting down", extra={"signal": signal.Signals(signum).name})
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"basma: gRPC on {config.host}:{service.grpc_port}, metrics on "
          f"http://{config.metrics_host}:{service.metrics_port}/metrics", file=sys.stderr, flush=True)
    while not stopping.wait(0.5):
        pass
    service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
