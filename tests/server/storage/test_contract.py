"""The Store contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timezone

import pytest

import matcher
from matcher import FingerPosition as F
from server.storage import Store, SubjectRecord, open_store
from tests.server.storage.conftest import KEY


def test_put_finger_creates_subject_and_returns_whole_record(store: Store, make_template):
    first, second = make_template(), make_template()
    record = store.put_finger("7001234567", F.RIGHT_INDEX, first)
    assert isinstance(record, SubjectRecord)
    assert record.subject == "7001234567"
    assert record.fingers == {F.RIGHT_INDEX: first}
    assert record.created_at.tzinfo == timezone.utc and record.updated_at >= record.created_at
    again = store.put_finger("7001234567", 7, second)  # plain int position accepted
    assert again.fingers == {F.RIGHT_INDEX: first, F.LEFT_INDEX: second}
    assert list(again.fingers) == [F.RIGHT_INDEX, F.LEFT_INDEX]
    assert again.created_at == record.created_at and again.updated_at >= record.updated_at
    assert store.counts() == (1, 2)


def test_duplicate_finger_is_refused_and_keeps_the_stored_template(store: Store, make_template):
    kept = make_template()
    store.put_finger("s", F.LEFT_THUMB, kept)
    with pytest.raises(matcher.DuplicateIdError, match="LEFT_THUMB"):
        store.put_finger("s", F.LEFT_THUMB, make_template())
    assert store.get_subject("s").fingers[F.LEFT_THUMB] == kept
    newer = make_template()
    assert store.put_finger("s", F.LEFT_THUMB, newer, overwrite=True).fingers == {F.LEFT_THUMB: newer}
    assert store.counts() == (1, 1)


def test_at_most_ten_fingers(store: Store, make_template):
    for position in range(10):
        store.put_finger("ten", position, make_template(5))
    with pytest.raises(matcher.InvalidParameterError, match="10 fingers"):
        store.put_finger("ten", 10, make_template(5))
    assert store.counts() == (1, 10)
    with pytest.raises(matcher.InvalidParameterError, match="at most 10"):
        store.put_subject("eleven", {p: make_template(5) for p in range(11)})
    assert not store.has_subject("eleven")


def test_put_subject_duplicate_and_replace(store: Store, make_template):
    old = {F.RIGHT_THUMB: make_template(), F.RIGHT_INDEX: make_template()}
    record = store.put_subject("subj", old)
    assert record.fingers == old
    with pytest.raises(matcher.DuplicateIdError, match="already enrolled"):
        store.put_subject("subj", {F.LEFT_LITTLE: make_template()})
    assert store.get_subject("subj").fingers == old
    new = {F.LEFT_LITTLE: make_template()}
    replaced = store.put_subject("subj", new, replace=True)
    assert replaced.fingers == new and replaced.created_at == record.created_at
    assert store.counts() == (1, 1)
    assert store.put_subject("fresh", new, replace=True).fingers == new  # replace creates a new one


@pytest.mark.parametrize("fingers, error", [
    ({}, matcher.InvalidParameterError),
    ({11: None}, matcher.InvalidParameterError),
    ({-1: None}, matcher.InvalidParameterError),
    ({True: None}, matcher.InvalidParameterError),
    ({1: b"BSMT not a template"}, matcher.InvalidTemplateError),
    ([(1, None)], matcher.InvalidTemplateError),  # pairs are accepted, as by matcher.index
    ("not fingers", matcher.InvalidParameterError),
])
def test_put_subject_refuses_bad_fingers_and_stores_nothing(store: Store, fingers, error):
    with pytest.raises(error):
        store.put_subject("x", fingers)
    assert store.counts() == (0, 0)


@pytest.mark.parametrize("subject", ["", " lead", "trail ", "a\nb", "tab\there", "x" * 65, 42, None, b"id"])
def test_bad_subject_ids_are_refused_everywhere(store: Store, make_template, subject):
    calls = [lambda: store.put_finger(subject, 1, make_template()),
             lambda: store.put_subject(subject, {1: make_template()}),
             lambda: store.get_subject(subject), lambda: store.has_subject(subject),
             lambda: store.delete_subject(subject)]
    for call in calls:
        with pytest.raises(matcher.InvalidParameterError, match="subject id"):
            call()
    assert store.counts() == (0, 0)


def test_bad_position_and_template_are_refused(store: Store, make_template):
    for position in (11, -1, "2", 2.5, None, True):
        with pytest.raises(matcher.InvalidParameterError, match="finger position"):
            store.put_finger("s", position, make_template())
    with pytest.raises(matcher.InvalidTemplateError, match="RIGHT_INDEX"):
        store.put_finger("s", 2, matcher.formats.dumps(make_template()))
    assert store.counts() == (0, 0)


def test_unusual_but_valid_ids_and_templates_round_trip(store: Store, make_template):
    fingers = {
        "x" * 64: make_template(255),
        "محمد-٠١٢٣": make_template(0),
        "a'b\"c?%d;--": make_template(1),
    }
    for subject, template in fingers.items():
        store.put_finger(subject, F.UNKNOWN, template)
    for subject, template in fingers.items():
        assert store.get_subject(subject).fingers == {F.UNKNOWN: template}


def test_delete_subject_removes_its_fingers(store: Store, make_template):
    store.put_subject("gone", {1: make_template(), 2: make_template()})
    store.put_subject("kept", {1: make_template()})
    store.delete_subject("gone")
    assert store.counts() == (1, 1)
    assert not store.has_subject("gone") and store.has_subject("kept")
    with pytest.raises(matcher.UnknownIdError):
        store.get_subject("gone")
    with pytest.raises(matcher.UnknownIdError):
        store.delete_subject("gone")
    store.put_finger("gone", 3, make_template())  # the id is free again, with no stale fingers
    assert list(store.get_subject("gone").fingers) == [F.RIGHT_MIDDLE]


def test_unknown_subject(store: Store):
    assert not store.has_subject("nobody")
    with pytest.raises(matcher.UnknownIdError, match="not enrolled"):
        store.get_subject("nobody")


def test_iter_subjects_in_code_point_order_for_every_batch_size(store: Store, make_template):
    assert list(store.iter_subjects()) == []
    ids = ["b", "B", "a", "aa", "a b", "Z9", "é", "10", "9", "~"]
    expected = {}
    for i, subject in enumerate(ids):
        expected[subject] = store.put_subject(subject, {p: make_template(10) for p in range(i % 3 + 1)})
    for batch_size in (1, 2, 3, 10, 1000):
        records = list(store.iter_subjects(batch_size=batch_size))
        assert [r.subject for r in records] == sorted(ids)
        for record in records:
            want = expected[record.subject]
            assert record.fingers == want.fingers
            assert (record.created_at, record.updated_at) == (want.created_at, want.updated_at)
    for bad in (0, -1, 100_001, 2.0, True, "10"):
        with pytest.raises(matcher.InvalidParameterError, match="batch_size"):
            list(store.iter_subjects(batch_size=bad))


def test_reopen_keeps_everything(target, make_template):
    with open_store(target, key=KEY) as first:
        written = first.put_subject("persist", {1: make_template(), 6: make_template()})
        first.put_finger("other", 2, make_template())
    with open_store(target, key=KEY) as again:
        assert again.counts() == (2, 3)
        record = again.get_subject("persist")
        assert record.fingers == written.fingers and record.created_at == written.created_at


def test_transaction_portable_placeholders_and_rollback(store: Store, make_template):
    store.put_finger("p%1", 1, make_template())
    with store.transaction(readonly=True) as cur:
        cur.execute("SELECT subject, '?', 'a%b' FROM subjects WHERE subject = ? AND subject LIKE 'p%'", ("p%1",))
        assert cur.fetchall() == [("p%1", "?", "a%b")]
        cur.execute("SELECT COUNT(*) FROM fingers")
        assert cur.fetchone() == (1,)
    with pytest.raises(RuntimeError), store.transaction() as cur:
        cur.execute("DELETE FROM fingers WHERE subject = ?", ("p%1",))
        assert cur.rowcount == 1
        raise RuntimeError("abort")
    assert store.counts() == (1, 1)  # rolled back


def test_ping_close_and_closed_store(target):
    opened = open_store(target, key=KEY)
    opened.ping()
    opened.close()
    opened.close()  # idempotent
    from server.storage import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="closed"):
        opened.counts()
    with pytest.raises(StoreUnavailableError, match="closed"):
        opened.ping()
