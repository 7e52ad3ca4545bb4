"""Pieces of the SIM flow on their own: identifier validation, policy loading, configuration,
role table, SMS texts and adapter, the append-only audit table, metrics without personal data."""

from __future__ import annotations

import json
import urllib.request

import pytest

from matcher import InvalidParameterError
from server.auth import SIM_METHOD_ROLES
from server.config import parse_args
from server.errors import ConfigError
from server.sim.ids import (
    check_cr_number,
    check_idempotency_key,
    check_msisdn,
    check_national_id,
    check_operator,
    luhn_valid,
    with_check_digit,
)
from server.sim.outbox import FileSmsAdapter, SmsMessage, texts
from server.sim.policy import SimPolicy, load_policy, policy_from_mapping
from server.sim.wire import simpb
from server.storage import StoreError
from tests.server.sim.conftest import national_id


@pytest.mark.parametrize("value", ["1000000008", "2000000006", with_check_digit("112345678"),
                                   with_check_digit("298765432")])
def test_valid_national_and_iqama_ids(value):
    assert check_national_id(value) == value and luhn_valid(value)


@pytest.mark.parametrize("value, message", [
    ("", "required"), ("100000000", "10 digits"), ("10000000080", "10 digits"), ("10000000a8", "10 digits"),
    ("3000000004", "start with 1"), ("0000000000", "start with 1"), ("1000000009", "check digit"),
    ("٠١٢٣٤٥٦٧٨٩", "10 digits"),
])
def test_invalid_national_ids_name_the_problem_without_the_id(value, message):
    with pytest.raises(InvalidParameterError, match=message) as caught:
        check_national_id(value)
    assert value == "" or value not in str(caught.value)


def test_every_single_digit_error_is_caught_by_the_check_digit():
    good = with_check_digit("123456789")
    for i in range(1, 10):
        for d in "0123456789":
            bad = good[:i] + d + good[i + 1:]
            assert luhn_valid(bad) == (bad == good)


@pytest.mark.parametrize("value", ["+966551234567", "00966551234567", "966551234567", "0551234567"])
def test_msisdn_forms_normalise_to_e164(value):
    assert check_msisdn(value) == "+966551234567"


@pytest.mark.parametrize("value", ["", "551234567", "+96655123456", "+9665512345678", "0451234567",
                                   "+966451234567", "+971551234567", "05 51234567", "+966-551234567"])
def test_bad_msisdns(value):
    with pytest.raises(InvalidParameterError, match="msisdn"):
        check_msisdn(value)


def test_other_identifiers():
    assert check_operator("stc") == "stc" and check_cr_number("7001234567") == "7001234567"
    assert check_idempotency_key("a:b.c-d_1") == "a:b.c-d_1"
    for call, value in ((check_operator, "STC"), (check_operator, "-x"), (check_operator, "a" * 33),
                        (check_cr_number, "123"), (check_idempotency_key, ""), (check_idempotency_key, "a b"),
                        (check_idempotency_key, "k" * 129)):
        with pytest.raises(InvalidParameterError):
            call(value)


def test_policy_from_json_and_its_checks(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"max_active_sims_total": 4, "operator_fmr": {"stc": 1e-5},
                                "operator_max_active_sims": {"zain": 1}, "min_image_quality": 30}))
    policy = load_policy(path)
    assert policy.fmr_for("stc") == 1e-5 and policy.fmr_for("zain") == policy.default_fmr == 1e-4
    assert policy.max_sims_for("zain") == 1 and policy.max_sims_for("stc") == 5 and policy.min_image_quality == 30
    for bad, message in (({"max_active_sims_total": 0}, "max_active_sims_total"),
                         ({"default_fmr": 1.5}, "default_fmr"), ({"operator_fmr": {"stc": 0}}, "operator_fmr"),
                         ({"otp_ttl_seconds": -1}, "otp_ttl_seconds"), ({"min_image_quality": 300}, "min_image"),
                         ({"fraud_check": "yes"}, "fraud_check"), ({"colour": 1}, "unknown keys"),
                         ({"operator_fmr": [1]}, "object keyed by operator")):
        with pytest.raises(InvalidParameterError, match=message):
            policy_from_mapping(bad)
    path.write_text("{not json")
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        load_policy(path)


def test_config_reads_the_policy_file_and_the_fault_hook_once(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"otp_max_attempts": 5}))
    base = ["--data-dir", str(tmp_path), "--grpc-port", "0", "--metrics-port", "0", "--principals", "p.json",
            "--plaintext-localhost"]
    config = parse_args([*base, "--sim-policy", str(path)], env={"BASMA_FAULT_AFTER_COMMIT": "register"})
    assert config.sim_policy.otp_max_attempts == 5 and config.fault_after_commit == "register"
    assert config.sms_file == tmp_path.resolve() / "sms" / "sms.jsonl"
    assert parse_args(base, env={}).fault_after_commit is None and parse_args(base, env={}).sim_policy == SimPolicy()
    with pytest.raises(ConfigError, match="BASMA_FAULT_AFTER_COMMIT"):
        parse_args(base, env={"BASMA_FAULT_AFTER_COMMIT": "everything"})
    path.write_text(json.dumps({"otp_max_attempts": 0}))
    with pytest.raises(ConfigError, match="otp_max_attempts"):
        parse_args([*base, "--sim-policy", str(path)], env={})


def test_every_sim_rpc_has_a_role_table_entry():
    service = simpb.DESCRIPTOR.services_by_name["SimRegistration"]
    assert {f"/basma.v1.SimRegistration/{m.name}" for m in service.methods} == set(SIM_METHOD_ROLES)


def test_sms_texts_in_arabic_and_english_show_the_number_masked():
    for kind in ("register", "reverify", "transfer", "deactivate"):
        arabic, english = texts(kind, msisdn="+966551234567", operator="mobily", ref="0123456789abcdef")
        assert "551234567" not in arabic + english and "+9*********67" in arabic and "+9*********67" in english
        assert any("\u0600" <= c <= "\u06ff" for c in arabic) and english.isascii()
    assert "موبايلي" in texts("register", msisdn="+966551234567", operator="mobily", ref="r")[0]
    with pytest.raises(ValueError):
        texts("spam", msisdn="+966551234567", operator="x")


def test_file_adapter_skips_ids_it_already_wrote_even_after_a_restart(tmp_path):
    path = tmp_path / "sms" / "sms.jsonl"
    message = SmsMessage("m1", "register", "r1", "+966551234567", "نص", "text")
    FileSmsAdapter(path).send(message)
    FileSmsAdapter(path).send(message)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "torn')  # a crash in the middle of a line
    again = FileSmsAdapter(path)
    again.send(message)
    again.send(SmsMessage("m2", "otp", "r2", "+966551234567", "نص", "text"))
    ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]
    assert ids == ["m1", "m2"] and (path.stat().st_mode & 0o777) == 0o600
    assert "551234567" not in path.read_text(encoding="utf-8")


def test_audit_rows_cannot_be_changed_or_deleted(sim):
    sim.register("mobily", national_id(1), "0551234567", 1)
    store = sim.service.core.store
    for sql in ("UPDATE sim_audit SET reason = 'VERIFIED'", "DELETE FROM sim_audit"):
        with pytest.raises(StoreError, match="append-only"):
            with store.transaction() as cur:
                cur.execute(sql)
    assert len(sim.rows("SELECT seq FROM sim_audit")) == 1


def test_sim_metrics_carry_no_personal_data(sim):
    sim.register("mobily", national_id(1), "0551234567", 1)
    sim.register("mobily", national_id(1), "0551234568", 900)
    sim.call("mobily", "RequestOtp", national_id=national_id(1), msisdn="0551234569", operator="mobily")
    sim.wait_delivered(2)
    text = urllib.request.urlopen(f"http://127.0.0.1:{sim.service.metrics_port}/metrics", timeout=10).read().decode()
    assert ('basma_sim_registrations_total{channel="store",decision="approved",operation="register",'
            'reason="VERIFIED"} 1.0') in text
    assert 'reason="NOT_MATCHED"} 1.0' in text and 'basma_sim_otp_total{outcome="requested"} 1.0' in text
    assert "basma_sim_outbox_delivered_total 2.0" in text
    assert national_id(1) not in text and "551234567" not in text


def test_a_version_1_store_upgrades_to_the_sim_schema_keeping_its_subjects(store_target, tmp_path):
    import shutil

    from server.storage import open_store
    from server.storage.migrations import MIGRATIONS_ROOT, migrate
    from tests.server.conftest import random_template

    key = bytes(range(32))
    dialect = "postgresql" if store_target.startswith("postgresql") else "sqlite"
    only_v1 = tmp_path / "v1"
    (only_v1 / dialect).mkdir(parents=True)
    shutil.copy(MIGRATIONS_ROOT / dialect / "0001_initial.sql", only_v1 / dialect)
    with open_store(store_target, key=key) as store:  # applies 1 and 2; roll the SIM part back to simulate v1
        with store.transaction() as cur:
            for table in ("sim_audit", "sim_fraud_flags", "sim_business_users", "sim_delegates", "sim_businesses",
                          "sim_otp", "sim_outbox", "sim_idempotency", "sim_bindings"):
                cur.execute(f"DROP TABLE {table}")
            if dialect == "postgresql":
                cur.execute("DROP FUNCTION sim_audit_refuse_change()")
            cur.execute("DELETE FROM schema_migrations WHERE version = 2")
        store.put_subject(national_id(1), {2: random_template(1)})
        assert migrate(store, only_v1) == []
    with open_store(store_target, key=key) as store:
        assert store.get_subject(national_id(1)).fingers[2] == random_template(1)
        with store.transaction(readonly=True) as cur:
            cur.execute("SELECT MAX(version) FROM schema_migrations")
            assert cur.fetchone() == (2,)
            cur.execute("SELECT COUNT(*) FROM sim_bindings")
            assert cur.fetchone() == (0,)
