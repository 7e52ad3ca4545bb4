"""The Basma gRPC service (thin servicers over ``matcher``'s public API).

Arrives with the service milestone: servicers, interceptors, metrics, health, storage and the
SIM-registration flow. Stubs are generated at build time into the git-ignored ``_proto/``.
"""
