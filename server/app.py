"""Build, start and stop the service: store, core, SIM flow and its SMS outbox worker, gRPC
server, health, reflection, metrics.

:class:`Service` is what ``python -m server`` runs and what the tests start in-process.
Start-up: the gRPC port opens with health NOT_SERVING, the gallery is rebuilt from the store,
then health turns SERVING. Shutdown: health NOT_SERVING, new calls refused, in-flight calls
drained for ``grace_seconds``, the outbox worker stopped, the store closed (flushed), the metrics
port closed.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from server.api import SERVICE_NAME, rpc
from server.auth import Principals
from server.biometrics import BiometricsServicer
from server.config import ServerConfig
from server.core import Core
from server.errors import ConfigError
from server.interceptors import AuthInterceptor, ObserveInterceptor, RateLimiter, RateLimitInterceptor
from server.metrics import Metrics, serve_metrics
from server.sim.flow import SimFlow
from server.sim.outbox import FileSmsAdapter, OutboxWorker, SmsAdapter
from server.sim.servicer import SimRegistrationServicer
from server.sim.wire import SIM_SERVICE_NAME, simrpc
from server.storage import Store, load_key, open_store

__all__ = ["Service"]

log = logging.getLogger(__name__)
ACCESS_LOG = "server.access"


class Service:
    """One running Basma service.

    Parameters
    ----------
    config : ServerConfig
    access_log : logging.Logger, optional
        Sink of the per-RPC access records (default the ``server.access`` logger).
    store : Store, optional
        An already opened store (default: :func:`server.storage.open_store` on ``config.store``).
    sms_adapter : SmsAdapter, optional
        Delivers the outbox's SMS (default: :class:`~server.sim.outbox.FileSmsAdapter` on
        ``config.sms_file``).

    Attributes
    ----------
    grpc_port, metrics_port : int
        The ports actually bound (after :meth:`start`).
    """

    def __init__(self, config: ServerConfig, *, access_log: logging.Logger | None = None,
                 store: Store | None = None, sms_adapter: SmsAdapter | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self._access_log = access_log or logging.getLogger(ACCESS_LOG)
        self._store = store
        self.core: Core | None = None
        self.sim: SimFlow | None = None
        self.outbox: OutboxWorker | None = None
        self._sms_adapter = sms_adapter
        self.health = health.HealthServicer()
        self._server: grpc.Server | None = None
        self._http = None
        self.grpc_port = 0
        self.metrics_port = 0
        self._stopped = threading.Event()

    def _credentials(self) -> grpc.ServerCredentials | None:
        tls = self.config.tls
        if tls is None:
            return None
        key, chain, client_ca = tls.credentials_bytes()
        return grpc.ssl_server_credentials([(key, chain)], root_certificates=client_ca,
                                           require_client_auth=client_ca is not None)

    def _set_health(self, status: int) -> None:
        for name in ("", SERVICE_NAME, SIM_SERVICE_NAME):
            self.health.set(name, status)

    def start(self, *, wait_for_gallery: bool = True) -> Service:
        """Open the store, bind the ports, load the gallery (in the background unless
        ``wait_for_gallery``) and serve. Returns ``self``.

        Raises
        ------
        ConfigError
            For an unreadable principals/TLS file or a port that cannot be bound.
        StoreError
            When the store cannot be opened.
        """
        cfg = self.config
        principals = Principals.load(cfg.principals_path)
        credentials = self._credentials()
        if self._store is None:
            self._store = open_store(cfg.store, key=load_key(cfg.key_path), pool_size=cfg.max_workers)
        self.core = Core(self._store, self.metrics, gallery_mode=cfg.gallery_mode)
        policy = cfg.sim_policy
        self.outbox = OutboxWorker(self._store, self._sms_adapter or FileSmsAdapter(cfg.sms_file), self.metrics,
                                   poll_seconds=policy.outbox_poll_seconds, backoff_seconds=policy.outbox_backoff_seconds,
                                   backoff_max_seconds=policy.outbox_backoff_max_seconds,
                                   lease_seconds=policy.outbox_lease_seconds)
        self.sim = SimFlow(self._store, self.core, self.metrics, policy, worker=self.outbox,
                           after_commit=_fault_hook(cfg.fault_after_commit))
        limiter = RateLimiter(cfg.rate_per_second, cfg.burst)
        options = [("grpc.max_receive_message_length", cfg.max_message_bytes),
                   ("grpc.max_send_message_length", cfg.max_message_bytes),
                   ("grpc.so_reuseport", 0)]
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=cfg.max_workers, thread_name_prefix="basma-rpc"),
            interceptors=[ObserveInterceptor(self.metrics, self._access_log), AuthInterceptor(principals),
                          RateLimitInterceptor(limiter)],
            options=options)
        rpc.add_BiometricsServicer_to_server(BiometricsServicer(self.core), server)
        simrpc.add_SimRegistrationServicer_to_server(SimRegistrationServicer(self.sim, principals), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection((SERVICE_NAME, SIM_SERVICE_NAME, health.SERVICE_NAME,
                                             reflection.SERVICE_NAME), server)
        address = f"{cfg.host}:{cfg.grpc_port}"
        try:
            port = (server.add_insecure_port(address) if credentials is None
                    else server.add_secure_port(address, credentials))
        except RuntimeError as exc:
            raise ConfigError(f"cannot listen on {address}: {exc}") from None
        if port == 0:
            raise ConfigError(f"cannot listen on {address} (port in use?)")
        self.grpc_port = port
        self._http, self.metrics_port = serve_metrics(self.metrics, cfg.metrics_host, cfg.metrics_port)
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        server.start()
        self._server = server
        self.outbox.start()
        if cfg.tls is None:
            log.warning("serving WITHOUT TLS on %s (--plaintext-localhost): local development only",
                        address)
        log.info("listening", extra={"grpc_port": port, "metrics_port": self.metrics_port,
                                     "tls": cfg.tls is not None,
                                     "mtls": cfg.tls is not None and cfg.tls.client_ca_path is not None})
        if wait_for_gallery:
            self._load()
        else:
            threading.Thread(target=self._load, name="basma-gallery-load", daemon=True).start()
        return self

    def _load(self) -> None:
        assert self.core is not None
        try:
            self.core.load()
        except Exception:
            log.exception("loading the gallery failed; the service stays NOT_SERVING")
            return
        if not self._stopped.is_set():
            self._set_health(health_pb2.HealthCheckResponse.SERVING)
            self.metrics.ready.set(1)
            log.info("serving")

    def stop(self, grace_seconds: float | None = None) -> None:
        """Graceful shutdown (idempotent): NOT_SERVING, drain in-flight calls, close the store."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        grace = self.config.grace_seconds if grace_seconds is None else grace_seconds
        self.metrics.ready.set(0)
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        if self._server is not None:
            self._server.stop(grace).wait()
        if self.outbox is not None:
            self.outbox.stop()
        if self.core is not None:
            self.core.close()
        elif self._store is not None:
            self._store.close()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        log.info("stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server terminates (or ``timeout``); True when it has."""
        if self._server is None:
            return True
        return self._server.wait_for_termination(timeout)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(0)


def _fault_hook(point: str | None):  # type: ignore[no-untyped-def]
    """TEST HOOK (``BASMA_FAULT_AFTER_COMMIT``): die right after ``point`` committed, before replying."""
    if point is None:
        return None

    def hook(operation: str) -> None:
        if operation == point:
            log.warning("BASMA_FAULT_AFTER_COMMIT: exiting after the commit of %s, before the reply", operation)
            logging.shutdown()
            os._exit(137)

    return hook
