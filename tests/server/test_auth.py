"""Credentials, roles, TLS and mTLS against a real server."""

from __future__ import annotations

import json

import grpc
import pytest

from server.auth import METHOD_ROLES, Principals, hash_api_key
from server.client import Client, template_sample
from server.errors import ConfigError
from tests.server.conftest import native
from tests.server.test_rpcs import code_of


def test_no_credentials_and_bad_key_are_unauthenticated(service, connect):
    anonymous = connect(service, role=None)
    assert code_of(anonymous.verify, "s1", [template_sample(native(1))]) == grpc.StatusCode.UNAUTHENTICATED
    wrong = connect(service, role=None, api_key="not-a-key")
    assert code_of(wrong.identify, [template_sample(native(1))]) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("role, method, allowed", [
    ("delegate", "enroll", False), ("operator", "enroll", False), ("researcher", "delete", False),
    ("delegate", "identify", False), ("delegate", "get", False), ("researcher", "get", False),
    ("researcher", "identify", True), ("delegate", "verify", True), ("operator", "get", True),
])
def test_roles(service, connect, role, method, allowed):
    connect(service).enroll("s1", [template_sample(native(1), finger=2)])
    client = connect(service, role)
    calls = {"enroll": lambda: client.enroll("s2", [template_sample(native(2))]),
             "delete": lambda: client.delete("s1"),
             "identify": lambda: client.identify([template_sample(native(1))]),
             "verify": lambda: client.verify("s1", [template_sample(native(1), finger=2)]),
             "get": lambda: client.get("s1")}
    if allowed:
        calls[method]()
    else:
        assert code_of(calls[method]) == grpc.StatusCode.PERMISSION_DENIED


def test_templates_only_for_admin(service, connect):
    connect(service).enroll("s1", [template_sample(native(1), finger=2)])
    operator = connect(service, "operator")
    assert code_of(operator.get, "s1", include_templates=True) == grpc.StatusCode.PERMISSION_DENIED
    assert operator.get("s1").fingers[0].native_template == b""


def test_every_rpc_has_a_role_table_entry():
    from server.api import pb
    methods = {f"/basma.v1.Biometrics/{m.name}" for m in pb.DESCRIPTOR.services_by_name["Biometrics"].methods}
    assert methods == set(METHOD_ROLES)


def test_tls_with_api_key(start_service, dev):
    service = start_service(tls=True)
    target = f"127.0.0.1:{service.grpc_port}"
    with Client(target, ca=dev.files.ca, api_key=dev.keys["admin"], timeout=10) as client:
        client.enroll("tls-subject", [template_sample(native(1), finger=2)])
        assert client.verify("tls-subject", [template_sample(native(1), finger=2)]).match
    with Client(target, ca=dev.files.ca, timeout=10) as anonymous:
        assert code_of(anonymous.get, "tls-subject") == grpc.StatusCode.UNAUTHENTICATED
    with Client(target, plaintext=True, api_key=dev.keys["admin"], timeout=3) as plaintext:
        assert code_of(plaintext.get, "tls-subject") == grpc.StatusCode.UNAVAILABLE


def test_mtls_client_certificate_is_a_principal(start_service, dev):
    service = start_service(mtls=True)
    target = f"127.0.0.1:{service.grpc_port}"
    with Client(target, ca=dev.files.ca, cert=dev.files.client, key=dev.files.client_key, timeout=10) as client:
        client.enroll("mtls-subject", [template_sample(native(1), finger=2)])
        assert client.get("mtls-subject").subject_id == "mtls-subject"
    with Client(target, ca=dev.files.ca, api_key=dev.keys["admin"], timeout=3) as no_certificate:
        assert code_of(no_certificate.get, "mtls-subject") == grpc.StatusCode.UNAVAILABLE


def test_principals_file_validation(tmp_path):
    good = {"name": "mobily-pos", "roles": ["operator"], "operator": "mobily", "api_key_sha256": hash_api_key("k")}
    path = tmp_path / "principals.json"
    path.write_text(json.dumps({"principals": [good]}))
    principals = Principals.load(path)
    assert principals.by_api_key("k").name == "mobily-pos" and principals.by_api_key("x") is None
    for bad in ({**good, "roles": ["king"]}, {**good, "api_key_sha256": "abc"}, {"name": "x", "roles": ["admin"]},
                {**good, "certificate_subject": "O=x"}, {**good, "colour": "red"}):
        path.write_text(json.dumps({"principals": [bad]}))
        with pytest.raises(ConfigError):
            Principals.load(path)
    path.write_text(json.dumps({"principals": [good, {**good, "name": "other"}]}))
    with pytest.raises(ConfigError, match="share"):
        Principals.load(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        Principals.load(path)
