"""Many threads on one store: no lost writes, and exactly one winner of each race."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import matcher
from server.storage import open_store
from tests.server.storage.conftest import KEY, random_template

WRITERS = 16
SUBJECTS_PER_WRITER = 4
RACES = 8


def _run(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()


def test_parallel_writers_lose_nothing(target):
    errors: list[BaseException] = []
    written: dict[str, dict[matcher.FingerPosition, matcher.Template]] = {}
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        rng = np.random.default_rng(index)
        try:
            start.wait()
            for j in range(SUBJECTS_PER_WRITER):
                subject = f"w{index:02d}-{j}"
                first, second = random_template(rng, 20), random_template(rng, 20)
                if j % 2:
                    store.put_subject(subject, {1: first, 2: second})
                else:
                    store.put_finger(subject, 1, first)
                    store.put_finger(subject, 2, second)
                assert store.get_subject(subject).fingers == {1: first, 2: second}
                written[subject] = {matcher.FingerPosition(1): first, matcher.FingerPosition(2): second}
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with open_store(target, key=KEY, pool_size=8, timeout_s=20.0) as store:
        _run([threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)])
        assert errors == []
        assert store.counts() == (WRITERS * SUBJECTS_PER_WRITER, 2 * WRITERS * SUBJECTS_PER_WRITER)
    with open_store(target, key=KEY) as reopened:
        stored = {r.subject: r.fingers for r in reopened.iter_subjects(batch_size=7)}
    assert stored == written


@pytest.mark.parametrize("operation", ["put_finger", "put_subject"])
def test_racing_on_the_same_finger_exactly_one_wins(target, operation):
    rng = np.random.default_rng(7)
    with open_store(target, key=KEY, pool_size=4, timeout_s=20.0) as store:
        for race in range(RACES):
            subject = f"race-{race}"
            if race % 2 and operation == "put_finger":  # half the races on an existing subject
                store.put_finger(subject, 5, random_template(rng, 10))
            templates = [random_template(rng, 10), random_template(rng, 10)]
            outcomes: list[object] = [None, None]
            start = threading.Barrier(2)

            def contender(i: int, subject=subject, templates=templates, outcomes=outcomes, start=start) -> None:
                start.wait()
                try:
                    if operation == "put_finger":
                        store.put_finger(subject, 3, templates[i])
                    else:
                        store.put_subject(subject, {3: templates[i]})
                    outcomes[i] = "won"
                except matcher.DuplicateIdError:
                    outcomes[i] = "lost"
                except BaseException as exc:  # reported below
                    outcomes[i] = exc

            _run([threading.Thread(target=contender, args=(i,)) for i in range(2)])
            assert sorted(map(str, outcomes)) == ["lost", "won"], outcomes
            winner = outcomes.index("won")
            assert store.get_subject(subject).fingers[3] == templates[winner]
