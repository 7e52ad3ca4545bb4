"""Concurrent registrations of one MSISDN from two operators: exactly one wins (unique active
binding + transaction), the other gets MSISDN_TAKEN; concurrent retries of one key agree."""

from __future__ import annotations

import threading

from server.sim.wire import simpb
from tests.server.sim.conftest import msisdn, national_id


def _race(calls):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_operators_register_the_same_msisdn_at_once_exactly_one_wins(sim):
    for round_ in range(4):
        number = msisdn(100 + round_)
        results = _race([lambda n=number: sim.register("mobily", national_id(1), n, 1),
                         lambda n=number: sim.register("zain", national_id(2), n, 2)])
        reasons = sorted(simpb.Reason.Name(r.reason) for r in results)
        assert reasons == ["REASON_MSISDN_TAKEN", "REASON_VERIFIED"], reasons
        assert sim.rows("SELECT COUNT(*) FROM sim_bindings WHERE msisdn = ? AND active = 1",
                        ("+9665" + number[2:],)) == [(1,)]
        sim.call("admin", "DeactivateSim", msisdn=number)


def test_concurrent_retries_of_one_key_give_one_binding_and_one_reply(sim):
    results = _race([lambda: sim.register("mobily", national_id(3), msisdn(7), 3, key="same-key")] * 4)
    assert len({r.registration_id for r in results}) == 1 and results[0].registration_id
    assert sum(not r.replayed for r in results) >= 1
    assert sim.rows("SELECT COUNT(*) FROM sim_bindings") == [(1,)]
    assert sim.rows("SELECT COUNT(*) FROM sim_outbox WHERE kind = 'register'") == [(1,)]
