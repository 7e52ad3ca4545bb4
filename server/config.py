"""Command line and environment -> frozen configuration objects (the only place reading either).

``python -m server --data-dir DIR --grpc-port N --metrics-port M --principals FILE
[--tls-cert F --tls-key F [--client-ca F]] [--plaintext-localhost] [--store DSN] ...``.
Environment variables (a flag wins over its variable): ``BASMA_STORE`` (store path or DSN),
``BASMA_TEMPLATE_KEY_FILE`` (key file), ``BASMA_LOG_LEVEL``. The template key itself may also
come from ``BASMA_TEMPLATE_KEY`` (hex), read by :func:`server.storage.load_key`. The SIM flow's
policy comes from ``--sim-policy FILE`` (JSON, :mod:`server.sim.policy`) and its SMS file from
``--sms-file`` (default DATA_DIR/sms/sms.jsonl).

Test hook (never set it in production): ``BASMA_FAULT_AFTER_COMMIT=register`` (or ``transfer``)
makes the server exit at once with status 137 right after such a registration committed and
before it replies, as a crash at the worst moment would; the tests use it to prove that a
retry with the same idempotency key returns the first result.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matcher
from matcher.index import MODES
from server.errors import ConfigError
from server.sim.policy import SimPolicy, load_policy

__all__ = ["TlsConfig", "ServerConfig", "parse_args", "LOCAL_HOSTS", "DEFAULT_MAX_MESSAGE_BYTES"]

#: Hosts on which --plaintext-localhost may listen.
LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")
#: Largest request or response message, bytes (8 MiB).
DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: File names under --data-dir.
STORE_FILE = "basma.db"
KEY_FILE = "template.key"
SMS_FILE = "sms/sms.jsonl"
#: Operations after whose commit the test-only fault hook may kill the server.
FAULT_POINTS = ("register", "transfer")


@dataclass(frozen=True)
class TlsConfig:
    """Server TLS: certificate chain and key (PEM); with ``client_ca``, mTLS (client certificates
    signed by that CA are required)."""

    cert_path: Path
    key_path: Path
    client_ca_path: Path | None = None

    def credentials_bytes(self) -> tuple[bytes, bytes, bytes | None]:
        """``(key, chain, client_ca)`` read from disk; :class:`ConfigError` naming an unreadable file."""
        def read(path: Path) -> bytes:
            try:
                return path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read TLS file {path}: {exc.strerror}") from None
        ca = read(self.client_ca_path) if self.client_ca_path is not None else None
        return read(self.key_path), read(self.cert_path), ca


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs, validated.

    Attributes
    ----------
    data_dir : Path
        Folder of the SQLite store and the default template key.
    host : str
        Interface of the gRPC port (``127.0.0.1`` with ``plaintext_localhost``).
    grpc_port, metrics_port : int
        TCP ports (0 = any free port; the started server reports the one it got).
    metrics_host : str
        Interface of the Prometheus ``/metrics`` HTTP port.
    principals_path : Path
        The principals JSON file (:mod:`server.auth`).
    tls : TlsConfig or None
        None only with ``plaintext_localhost``.
    store : str
        ``sqlite:///...`` / a path, or ``postgresql://...``.
    key_path : Path or None
        Template encryption key file (None: ``BASMA_TEMPLATE_KEY``).
    max_message_bytes : int
        Largest request message.
    max_workers : int
        Threads serving RPCs.
    rate_per_second, burst : float
        Default per-principal token bucket (a principal may override the rate).
    grace_seconds : float
        How long shutdown waits for in-flight calls.
    log_level : str
    gallery_mode : str or None
        Candidate generation of the in-memory gallery (one of ``matcher.index.MODES``; None: the
        library's default).
    sim_policy : SimPolicy
        Limits, FMRs, OTP and outbox settings of the SIM flow.
    sms_path : Path or None
        File of the development SMS adapter (None: ``data_dir/sms/sms.jsonl``).
    fault_after_commit : str or None
        TEST HOOK: exit (status 137) right after this operation commits, before replying.
    """

    data_dir: Path
    host: str
    grpc_port: int
    metrics_port: int
    metrics_host: str
    principals_path: Path
    tls: TlsConfig | None
    plaintext_localhost: bool
    store: str
    key_path: Path | None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_workers: int = 16
    rate_per_second: float = 200.0
    burst: float = 400.0
    grace_seconds: float = 10.0
    log_level: str = "INFO"
    gallery_mode: str | None = None
    sim_policy: SimPolicy = SimPolicy()
    sms_path: Path | None = None
    fault_after_commit: str | None = None

    def __post_init__(self) -> None:
        for name in ("grpc_port", "metrics_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ConfigError(f"{name} must be in 0..65535, got {port}")
        if self.tls is None and not self.plaintext_localhost:
            raise ConfigError("TLS is required: give --tls-cert and --tls-key "
                              "(or --plaintext-localhost for local development)")
        if self.plaintext_localhost and self.host not in LOCAL_HOSTS:
            raise ConfigError(f"--plaintext-localhost listens only on {LOCAL_HOSTS}, got host {self.host!r}")
        if self.tls is not None and self.plaintext_localhost:
            raise ConfigError("--plaintext-localhost cannot be combined with --tls-cert/--tls-key")
        if not 1 <= self.max_workers <= 1024:
            raise ConfigError(f"max_workers must be in 1..1024, got {self.max_workers}")
        if not 1024 <= self.max_message_bytes <= 64 * 1024 * 1024:
            raise ConfigError(f"max_message_bytes must be in 1 KiB..64 MiB, got {self.max_message_bytes}")
        if not (self.rate_per_second > 0 and self.burst >= 1):
            raise ConfigError(f"rate limit must be > 0/s with burst >= 1, got {self.rate_per_second}/s "
                              f"burst {self.burst}")
        if self.gallery_mode is not None and self.gallery_mode not in MODES:
            raise ConfigError(f"gallery mode must be one of {MODES}, got {self.gallery_mode!r}")
        if self.grace_seconds < 0:
            raise ConfigError(f"grace_seconds must be >= 0, got {self.grace_seconds}")
        if self.fault_after_commit is not None and self.fault_after_commit not in FAULT_POINTS:
            raise ConfigError(f"BASMA_FAULT_AFTER_COMMIT must be one of {FAULT_POINTS}, got {self.fault_after_commit!r}")

    @property
    def sms_file(self) -> Path:
        """Where the development SMS adapter writes."""
        return self.sms_path if self.sms_path is not None else self.data_dir / SMS_FILE


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server", description="Basma gRPC biometric service.")
    p.add_argument("--data-dir", type=Path, required=True, help="folder of the SQLite store and key")
    p.add_argument("--grpc-port", type=int, required=True, help="gRPC port (0 = any free port)")
    p.add_argument("--metrics-port", type=int, required=True, help="Prometheus /metrics port (0 = any)")
    p.add_argument("--principals", type=Path, required=True, help="principals JSON file (docs/SERVICE.md)")
    p.add_argument("--host", default=None, help="gRPC interface (default [::], 127.0.0.1 when plaintext)")
    p.add_argument("--metrics-host", default=None, help="metrics interface (default: --host)")
    p.add_argument("--tls-cert", type=Path, help="server certificate chain (PEM)")
    p.add_argument("--tls-key", type=Path, help="server private key (PEM)")
    p.add_argument("--client-ca", type=Path, help="CA of client certificates: enables mTLS")
    p.add_argument("--plaintext-localhost", action="store_true",
                   help="no TLS, 127.0.0.1 only, for local development (credentials still required)")
    p.add_argument("--store", default=None, help="store path or DSN (default DATA_DIR/basma.db; env BASMA_STORE)")
    p.add_argument("--key-file", type=Path, default=None,
                   help="template key file (default DATA_DIR/template.key if present, else BASMA_TEMPLATE_KEY)")
    p.add_argument("--max-message-mib", type=float, default=DEFAULT_MAX_MESSAGE_BYTES / 2**20)
    p.add_argument("--workers", type=int, default=16, help="RPC threads")
    p.add_argument("--rate-limit", type=float, default=200.0, help="requests/s per principal")
    p.add_argument("--burst", type=float, default=400.0, help="token bucket size per principal")
    p.add_argument("--grace-seconds", type=float, default=10.0, help="shutdown drain time")
    p.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (env BASMA_LOG_LEVEL)")
    p.add_argument("--gallery-mode", default=None, help=f"1:N candidate generation, one of {MODES}")
    p.add_argument("--sim-policy", type=Path, default=None, help="SIM registration policy JSON (docs/SIM.md)")
    p.add_argument("--sms-file", type=Path, default=None,
                   help="file of the development SMS adapter (default DATA_DIR/sms/sms.jsonl)")
    return p


def parse_args(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Parse the command line (and ``env``, default ``os.environ``) into a :class:`ServerConfig`.

    Raises
    ------
    ConfigError
        For inconsistent options (message names them); argparse exits on unknown ones.
    """
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise ConfigError("--tls-cert and --tls-key go together")
        tls = TlsConfig(args.tls_cert, args.tls_key, args.client_ca)
    elif args.client_ca:
        raise ConfigError("--client-ca needs --tls-cert and --tls-key")
    host = args.host or ("127.0.0.1" if args.plaintext_localhost else "[::]")
    data_dir = args.data_dir.resolve()
    key_path = args.key_file or (Path(env["BASMA_TEMPLATE_KEY_FILE"]) if env.get("BASMA_TEMPLATE_KEY_FILE")
                                 else None)
    if key_path is None and (data_dir / KEY_FILE).is_file():
        key_path = data_dir / KEY_FILE
    try:
        policy = load_policy(args.sim_policy) if args.sim_policy else SimPolicy()
    except matcher.InvalidParameterError as exc:
        raise ConfigError(str(exc)) from None
    return ServerConfig(
        data_dir=data_dir, host=host, grpc_port=args.grpc_port, metrics_port=args.metrics_port,
        metrics_host=args.metrics_host or ("127.0.0.1" if host in LOCAL_HOSTS else "0.0.0.0"),
        principals_path=args.principals, tls=tls, plaintext_localhost=args.plaintext_localhost,
        store=args.store or env.get("BASMA_STORE") or str(data_dir / STORE_FILE), key_path=key_path,
        max_message_bytes=int(args.max_message_mib * 2**20), max_workers=args.workers,
        rate_per_second=args.rate_limit, burst=args.burst, grace_seconds=args.grace_seconds,
        log_level=(args.log_level or env.get("BASMA_LOG_LEVEL") or "INFO").upper(), gallery_mode=args.gallery_mode,
        sim_policy=policy, sms_path=args.sms_file, fault_after_commit=env.get("BASMA_FAULT_AFTER_COMMIT") or None)
