"""Fingerprint-verified SIM registration (the ``basma.v1.SimRegistration`` service).

Modules: :mod:`~server.sim.ids` (national id / MSISDN validation), :mod:`~server.sim.policy`
(every tunable), :mod:`~server.sim.scope` (who may act for which operator, channel, business),
:mod:`~server.sim.flow` (registration and transfer over the store and the biometric core),
:mod:`~server.sim.bindings` (listing, deactivation), :mod:`~server.sim.otp`,
:mod:`~server.sim.business` (businesses and delegates), :mod:`~server.sim.outbox` (durable SMS
outbox and its delivery worker), :mod:`~server.sim.audit` (append-only audit log),
:mod:`~server.sim.wire` (generated stubs) and :mod:`~server.sim.servicer` (the thin gRPC layer).
docs/SIM.md describes the flows.
"""
