"""Development set-up: template key, a dev CA with server and client certificates, principals.

``python -m server.devsetup DIR`` (what ``make run`` calls) creates, when missing, under DIR:
``template.key`` (0600), ``ca.pem``/``ca.key``, ``server.pem``/``server.key`` (for
``localhost`` and ``127.0.0.1``), ``client.pem``/``client.key`` (CN ``basma-dev-admin``, for
mTLS), ``principals.json`` and ``api-keys.json`` (0600: the plain dev API keys, one per role).
Running it again keeps what exists. Nothing here is fit for production.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from server.auth import ROLES, hash_api_key
from server.storage import write_dev_key

__all__ = ["DevFiles", "create", "write_certificates", "write_principals", "CLIENT_CN", "DEV_BUSINESS"]

CLIENT_CN = "basma-dev-admin"
#: Commercial registration number of the dev delegate's business.
DEV_BUSINESS = "7001234567"
_VALID_DAYS = 365


class DevFiles:
    """Paths of the development files under ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.key = self.root / "template.key"
        self.ca, self.ca_key = self.root / "ca.pem", self.root / "ca.key"
        self.server, self.server_key = self.root / "server.pem", self.root / "server.key"
        self.client, self.client_key = self.root / "client.pem", self.root / "client.key"
        self.principals = self.root / "principals.json"
        self.api_keys = self.root / "api-keys.json"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject_cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
                 issuer_key: ec.EllipticCurvePrivateKey | None, *, ca: bool, server: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Basma development")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def write_certificates(files: DevFiles, *, client_cn: str = CLIENT_CN) -> None:
    """Create the dev CA, server and client certificates unless ``files.server`` exists."""
    if files.server.is_file() and files.client.is_file() and files.ca.is_file():
        return
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("Basma dev CA", ca_key, None, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate("localhost", server_key, ca_cert.subject, ca_key, ca=False, server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate(client_cn, client_key, ca_cert.subject, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    _write_private(files.ca_key, _key_pem(ca_key))
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    _write_private(files.server_key, _key_pem(server_key))
    files.server.write_bytes(server_cert.public_bytes(pem))
    _write_private(files.client_key, _key_pem(client_key))
    files.client.write_bytes(client_cert.public_bytes(pem))


def write_principals(files: DevFiles) -> dict[str, str]:
    """Create one principal per role with a fresh API key (plus the mTLS client); return ``{role: key}``.

    Existing files are kept and their keys returned.
    """
    if files.principals.is_file() and files.api_keys.is_file():
        return json.loads(files.api_keys.read_text())
    keys = {role: "dev-" + role + "-" + secrets.token_urlsafe(24) for role in sorted(ROLES)}
    principals = [{"name": f"dev-{role}", "roles": [role], "operator": "dev" if role in ("operator", "delegate") else "",
                   "api_key_sha256": hash_api_key(key)} for role, key in keys.items()]
    for entry in principals:  # the dev delegate acts for the dev business (docs/SIM.md)
        if entry["roles"] == ["delegate"]:
            entry["business"] = DEV_BUSINESS
    principals.append({"name": "dev-mtls-admin", "roles": ["admin"], "certificate_subject": f"CN={CLIENT_CN}"})
    files.principals.write_text(json.dumps({"principals": principals}, indent=2) + "\n")
    _write_private(files.api_keys, (json.dumps(keys, indent=2) + "\n").encode())
    return keys


def create(root: str | os.PathLike[str]) -> tuple[DevFiles, dict[str, str]]:
    """Everything at once (idempotent); returns the paths and the dev API keys by role."""
    files = DevFiles(root)
    files.root.mkdir(parents=True, exist_ok=True)
    write_dev_key(files.key)
    write_certificates(files)
    return files, write_principals(files)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m server.devsetup DIR", file=sys.stderr)
        return 2
    files, keys = create(argv[0])
    print(f"dev files in {files.root}: template.key, ca.pem, server.pem/.key, client.pem/.key, principals.json")
    for role, key in keys.items():
        print(f"  API key ({role}): {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
