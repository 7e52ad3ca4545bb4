"""Error mapping, id masking and configuration parsing (no server needed)."""

from __future__ import annotations

import grpc
import pytest

import matcher
from server import errors
from server.config import parse_args
from server.errors import ConfigError, status_of
from server.logs import mask_id
from server.storage import CorruptRecordError, StoreUnavailableError


@pytest.mark.parametrize("exc, code", [
    (matcher.InvalidImageError("bad image"), grpc.StatusCode.INVALID_ARGUMENT),
    (matcher.InvalidTemplateError("bad template"), grpc.StatusCode.INVALID_ARGUMENT),
    (matcher.TemplateVersionError("v9"), grpc.StatusCode.INVALID_ARGUMENT),
    (matcher.InvalidParameterError("k"), grpc.StatusCode.INVALID_ARGUMENT),
    (matcher.UnknownIdError("nobody"), grpc.StatusCode.NOT_FOUND),
    (matcher.DuplicateIdError("taken"), grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPreconditionError("no finger"), grpc.StatusCode.FAILED_PRECONDITION),
    (errors.RateLimitedError("slow down"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.NotReadyError("loading"), grpc.StatusCode.UNAVAILABLE),
    (errors.UnauthenticatedError("who"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDeniedError("no"), grpc.StatusCode.PERMISSION_DENIED),
    (errors.DeadlineExceededError("late"), grpc.StatusCode.DEADLINE_EXCEEDED),
])
def test_errors_map_to_precise_codes_with_their_message(exc, code):
    assert status_of(exc) == (code, str(exc))


def test_internal_and_store_errors_never_leak_details():
    assert status_of(RuntimeError("secret path /etc/x")) == (grpc.StatusCode.INTERNAL, "internal error")
    assert status_of(matcher.NativeExtensionError("lib")) == (grpc.StatusCode.INTERNAL, "internal error")
    code, message = status_of(StoreUnavailableError("postgresql://user:pw@db failed"))
    assert code == grpc.StatusCode.UNAVAILABLE and "pw" not in message
    code, message = status_of(CorruptRecordError("subject 1234567890 finger 2"))
    assert code == grpc.StatusCode.DATA_LOSS and "1234567890" not in message


def test_mask_id():
    assert mask_id("1234567890") == "12******90"
    assert mask_id("123456") == "******" and mask_id("") == ""


def test_config_requires_tls_or_explicit_localhost_plaintext(tmp_path):
    base = ["--data-dir", str(tmp_path), "--grpc-port", "0", "--metrics-port", "0", "--principals", "p.json"]
    with pytest.raises(ConfigError, match="TLS is required"):
        parse_args(base, env={})
    with pytest.raises(ConfigError, match="only on"):
        parse_args([*base, "--plaintext-localhost", "--host", "0.0.0.0"], env={})
    with pytest.raises(ConfigError, match="go together"):
        parse_args([*base, "--tls-cert", "c.pem"], env={})
    with pytest.raises(ConfigError, match="needs"):
        parse_args([*base, "--plaintext-localhost", "--client-ca", "ca.pem"], env={})
    config = parse_args([*base, "--plaintext-localhost"], env={"BASMA_STORE": "postgresql://db/x"})
    assert config.host == "127.0.0.1" and config.store == "postgresql://db/x" and config.tls is None
    config = parse_args([*base, "--tls-cert", "c.pem", "--tls-key", "k.pem", "--client-ca", "ca.pem"], env={})
    assert config.host == "[::]" and config.tls.client_ca_path.name == "ca.pem"
    assert config.store == str(tmp_path.resolve() / "basma.db")
