"""The service on the production store option: PostgreSQL (a fresh schema, dropped afterwards).

Skipped, saying why, when no PostgreSQL server answers at ``BASMA_TEST_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

from server.client import template_sample
from tests.server.conftest import native


def test_enroll_verify_restart_on_postgresql(start_service, connect, pg_dsn, tmp_path):
    first = start_service(store=pg_dsn)
    admin = connect(first)
    admin.enroll("1000000001", [template_sample(native(1), finger=2)])
    admin.enroll("1000000002", [template_sample(native(2), finger=7)])
    assert admin.verify("1000000001", [template_sample(native(1), finger=2)]).match
    admin.delete("1000000002")
    first.stop()
    second = start_service(store=pg_dsn, data_dir=tmp_path / "other")
    assert second.core.store.dialect == "postgresql" and len(second.core.gallery) == 1
    operator = connect(second, "operator")
    assert operator.verify("1000000001", [template_sample(native(1), finger=2)]).match
    assert operator.identify([template_sample(native(1))]).candidates[0].subject_id == "1000000001"
