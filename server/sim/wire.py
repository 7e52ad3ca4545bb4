"""The generated wire types of ``proto/basma/v1/sim.proto``: ``from server.sim.wire import simpb, simrpc``."""

from __future__ import annotations

from server.api import StubsMissingError

__all__ = ["simpb", "simrpc", "SIM_SERVICE_NAME"]

try:
    from server._proto.basma.v1 import sim_pb2 as simpb
    from server._proto.basma.v1 import sim_pb2_grpc as simrpc
except ImportError as exc:  # pragma: no cover - exercised only on a broken checkout
    raise StubsMissingError.because(exc) from None

#: Full name of the service, as health checks and reflection know it.
SIM_SERVICE_NAME = simpb.DESCRIPTOR.services_by_name["SimRegistration"].full_name
