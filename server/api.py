"""The generated wire types, imported once: ``from server.api import pb, rpc``.

The stubs are generated at build time (``make proto``) into the git-ignored ``server/_proto/``;
importing this module without them raises :class:`StubsMissingError` saying how to make them.
"""

from __future__ import annotations

import matcher

__all__ = ["pb", "rpc", "SERVICE_NAME", "StubsMissingError"]


class StubsMissingError(matcher.MatcherError, ImportError):
    """The generated gRPC stubs under ``server/_proto/`` are missing or stale."""

    @classmethod
    def because(cls, exc: ImportError) -> StubsMissingError:
        """The error for a failed import of generated stubs, saying how to generate them."""
        return cls(f"the gRPC stubs are missing or stale ({exc}); generate them with `make proto` "
                   "(or `python -m server.protogen`)")


try:
    from server._proto.basma.v1 import biometrics_pb2 as pb
    from server._proto.basma.v1 import biometrics_pb2_grpc as rpc
except ImportError as exc:  # pragma: no cover - exercised only on a broken checkout
    raise StubsMissingError.because(exc) from None

#: Full name of the service, as health checks and reflection know it.
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Biometrics"].full_name
