"""Readiness, stored-data corruption, the dev set-up and the ``make run`` demo helpers."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

import matcher
from server import devsetup
from server.client import template_sample
from server.core import Core
from server.demo import demo_fingers, demo_subject_id, enrol_demo
from server.errors import NotReadyError
from server.metrics import Metrics
from server.storage import load_key, open_store
from tests.server.conftest import native, random_template
from tests.server.test_observability import scrape


def test_core_refuses_work_until_the_gallery_is_loaded(tmp_path, dev):
    with open_store(tmp_path / "basma.db", key=load_key(dev.files.key)) as store:
        store.put_subject("s1", {matcher.FingerPosition.RIGHT_INDEX: random_template(1)})
        core = Core(store, Metrics())
        with pytest.raises(NotReadyError):
            core.verify("s1", [(matcher.FingerPosition.RIGHT_INDEX, random_template(1))])
        assert core.load() == 1 and core.ready
        assert core.verify("s1", [(matcher.FingerPosition.RIGHT_INDEX, random_template(1))]).match
        core.close()
        assert not core.ready
        with pytest.raises(NotReadyError):
            core.identify({matcher.FingerPosition.UNKNOWN: random_template(1)})


def test_index_second_passes_are_counted_across_reloads(tmp_path, dev):
    from prometheus_client import generate_latest

    with open_store(tmp_path / "basma.db", key=load_key(dev.files.key)) as store:
        for i in range(1, 4):
            store.put_subject(f"s{i}", {matcher.FingerPosition.RIGHT_INDEX: random_template(i)})
        metrics = Metrics()
        core = Core(store, metrics, gallery_mode="index")
        core.load()

        def counted() -> str:
            lines = generate_latest(metrics.registry).decode().splitlines()
            return next(line for line in lines if line.startswith("basma_identify_second_passes_total "))

        assert counted() == "basma_identify_second_passes_total 0.0"
        core.identify({matcher.FingerPosition.UNKNOWN: random_template(1)})     # enrolled: confident
        assert counted() == "basma_identify_second_passes_total 0.0"
        core.identify({matcher.FingerPosition.UNKNOWN: random_template(9)})     # not enrolled
        assert counted() == "basma_identify_second_passes_total 1.0"
        core.load()                                                            # a new gallery: the count goes on
        core.identify({matcher.FingerPosition.UNKNOWN: random_template(9)})
        assert counted() == "basma_identify_second_passes_total 2.0"
        core.close()


def test_tampered_stored_template_is_data_loss_without_details(service, connect):
    admin = connect(service)
    admin.enroll("1234567890", [template_sample(native(1), finger=2)])
    with sqlite3.connect(service.config.store) as db:
        db.execute("UPDATE fingers SET template = X'00010203' WHERE subject = '1234567890'")
    with pytest.raises(grpc.RpcError) as info:
        admin.get("1234567890", include_templates=True)
    assert info.value.code() == grpc.StatusCode.DATA_LOSS and "1234567890" not in info.value.details()
    assert 'basma_store_errors_total{operation="get"} 1.0' in scrape(service)


def test_devsetup_is_idempotent(tmp_path):
    files, keys = devsetup.create(tmp_path)
    again, same = devsetup.create(tmp_path)
    assert keys == same and set(keys) == {"admin", "delegate", "operator", "researcher"}
    assert (files.key.stat().st_mode & 0o777) == 0o600 and (files.api_keys.stat().st_mode & 0o777) == 0o600
    assert b"BEGIN CERTIFICATE" in files.server.read_bytes() and files.ca.read_bytes() == again.ca.read_bytes()


def test_demo_ids_are_fixed_ten_digit_numbers():
    ids = {demo_subject_id(f"db{d}_b", str(f)) for d in range(1, 5) for f in range(101, 111)}
    assert len(ids) == 40 and all(len(i) == 10 and i.isdigit() and i[0] == "1" for i in ids)


@pytest.mark.dataset
def test_demo_enrols_impression_1_once(fvc2002, tmp_path, dev):
    fingers = demo_fingers(fvc2002)
    assert len(fingers) == 40 and fingers[0][1].name == "101_1.tif" and fingers[0][2].name == "101_2.tif"
    store_path = tmp_path / "data" / "basma.db"
    assert enrol_demo(store_path, dev.files.key, fingers[:2]) == 2
    assert enrol_demo(store_path, dev.files.key, fingers[:3]) == 1
    with open_store(store_path, key=load_key(dev.files.key)) as store:
        assert store.counts() == (3, 3)


def test_calls_after_the_core_closed_are_unavailable(service, connect):
    admin = connect(service)
    admin.enroll("s1", [template_sample(native(1), finger=2)])
    service.core.close()
    with pytest.raises(grpc.RpcError) as info:
        admin.verify("s1", [template_sample(native(1), finger=2)])
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE and "retry" in info.value.details()
