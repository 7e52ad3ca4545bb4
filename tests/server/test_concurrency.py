"""32 concurrent clients: no errors, no lost writes, gallery and store agree."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from server.client import template_sample
from tests.server.conftest import native

CLIENTS = 32
SUBJECTS_PER_CLIENT = 3


def test_32_concurrent_clients_lose_nothing(service, connect):
    connect(service).enroll("shared", [template_sample(native(999), finger=2)])
    clients = [connect(service, "admin") for _ in range(CLIENTS)]

    def work(index: int) -> list[str]:
        client = clients[index]
        done = []
        for j in range(SUBJECTS_PER_CLIENT):
            seed = 1000 + index * SUBJECTS_PER_CLIENT + j
            subject = f"c{index:02d}-{j}"
            client.enroll(subject, [template_sample(native(seed), finger=2)])
            assert client.verify(subject, [template_sample(native(seed), finger=2)]).match
            assert client.verify("shared", [template_sample(native(999), finger=2)]).match
            done.append(subject)
        # Racing on the same subject and finger: exactly one client wins per (subject, finger).
        try:
            client.enroll("contended", [template_sample(native(5000 + index), finger=index % 10 + 1)])
            done.append("contended")
        except Exception as exc:  # ALREADY_EXISTS for the losers; anything else fails the test
            assert exc.code().name == "ALREADY_EXISTS", exc
        return done

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(work, range(CLIENTS)))

    subjects = {s for done in results for s in done if s != "contended"}
    assert len(subjects) == CLIENTS * SUBJECTS_PER_CLIENT
    winners = sum(done.count("contended") for done in results)
    assert winners == 10  # ten positions, each taken once
    store = service.core.store
    assert store.counts() == (len(subjects) + 2, len(subjects) + 1 + 10)
    assert len(service.core.gallery) == len(subjects) + 2
    assert sorted(store.get_subject("contended").fingers) == list(range(1, 11))
    assert sorted(service.core.gallery.get("contended")) == list(range(1, 11))
