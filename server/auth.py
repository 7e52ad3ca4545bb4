"""Principals, their credentials and roles, and which roles may call which RPC.

The principals file (JSON)::

    {"principals": [
        {"name": "mobily-pos", "roles": ["operator"], "operator": "mobily",
         "api_key_sha256": "<64 hex digits>"},
        {"name": "registry", "roles": ["admin"], "certificate_subject": "CN=registry-client"},
        {"name": "acme-delegate", "roles": ["delegate"], "operator": "mobily", "business": "7001234567",
         "api_key_sha256": "<64 hex digits>"}
    ]}

A client authenticates with its API key in the ``x-api-key`` metadata (the file keeps only the
key's SHA-256; comparison is constant-time) or, on an mTLS port, with a client certificate
whose subject common name matches ``certificate_subject`` (``CN=...``). Optional per-principal
``rate_limit_per_second`` overrides the server default. ``operator`` is the telecom operator a
principal acts for and ``business`` (delegates) the commercial registration number of the
business whose users it may register SIMs for (docs/SIM.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.errors import ConfigError, PermissionDeniedError, UnauthenticatedError

__all__ = ["ROLES", "METHOD_ROLES", "SIM_METHOD_ROLES", "TEMPLATE_READERS", "Principal", "Principals", "hash_api_key",
           "API_KEY_HEADER"]

#: admin: registry enrolment and administration; operator: a telecom operator's systems;
#: delegate: an authorized delegate of a business (SIMs of that business's users only);
#: researcher: evaluation.
ROLES = frozenset({"admin", "operator", "delegate", "researcher"})
API_KEY_HEADER = "x-api-key"
_SERVICE = "/basma.v1.Biometrics/"
_SIM = "/basma.v1.SimRegistration/"
#: Roles allowed per RPC (full method name). Anything not listed (besides health and
#: reflection, which need no credentials) is refused.
METHOD_ROLES: Mapping[str, frozenset[str]] = {
    _SERVICE + "Extract": frozenset({"operator", "delegate", "admin", "researcher"}),
    _SERVICE + "Enroll": frozenset({"admin"}),
    _SERVICE + "Verify": frozenset({"operator", "delegate", "admin", "researcher"}),
    _SERVICE + "Identify": frozenset({"operator", "admin", "researcher"}),
    _SERVICE + "DeleteSubject": frozenset({"admin"}),
    _SERVICE + "GetSubject": frozenset({"operator", "admin"}),
}
#: Roles allowed per RPC of the SIM-registration service; the flow checks the finer scope
#: (operator, channel, business).
SIM_METHOD_ROLES: Mapping[str, frozenset[str]] = {
    _SIM + "RegisterSim": frozenset({"operator", "delegate"}),
    _SIM + "TransferSim": frozenset({"operator", "delegate"}),
    _SIM + "ListSims": frozenset({"operator", "delegate", "admin"}),
    _SIM + "DeactivateSim": frozenset({"operator", "admin"}),
    _SIM + "RequestOtp": frozenset({"operator"}),
    _SIM + "ConfirmOtp": frozenset({"operator"}),
    _SIM + "RegisterBusiness": frozenset({"admin"}),
    _SIM + "RegisterDelegate": frozenset({"admin"}),
    _SIM + "AddBusinessUser": frozenset({"admin"}),
    _SIM + "ListBusinessUsers": frozenset({"delegate", "admin"}),
    _SIM + "ListAudit": frozenset({"admin"}),
    _SIM + "ListOutbox": frozenset({"admin"}),
}
_ALL_METHOD_ROLES: Mapping[str, frozenset[str]] = {**METHOD_ROLES, **SIM_METHOD_ROLES}
#: Roles that may read stored templates (GetSubject include_templates).
TEMPLATE_READERS = frozenset({"admin"})
#: Method prefixes served without credentials.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def hash_api_key(key: str) -> str:
    """The hex SHA-256 of an API key, as stored in the principals file.

    Examples
    --------
    >>> hash_api_key("secret")[:16]
    '2bb80d537b1da3e3'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """A client of the service.

    Attributes
    ----------
    name : str
        Shown in logs (not personal data).
    roles : frozenset of str
        Subset of :data:`ROLES`.
    operator : str
        The organisation it acts for ("" when none).
    api_key_sha256 : str
        Hex SHA-256 of its API key ("" when it uses certificates only).
    certificate_subject : str
        ``CN=<common name>`` of its client certificate ("" when it uses a key only).
    business : str
        Delegates: the commercial registration number (10 digits) of their business ("" when none).
    rate_per_second : float or None
        Its own rate limit (None: the server default).
    """

    name: str
    roles: frozenset[str]
    operator: str = ""
    api_key_sha256: str = ""
    certificate_subject: str = ""
    rate_per_second: float | None = None
    business: str = ""

    def may_call(self, method: str) -> bool:
        """Whether one of its roles is allowed to call ``method`` (a full method name)."""
        return bool(self.roles & _ALL_METHOD_ROLES.get(method, frozenset()))


def _principal(entry: Any, i: int, where: str) -> Principal:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: principals[{i}] must be an object, got {type(entry).__name__}")
    unknown = set(entry) - {"name", "roles", "operator", "api_key_sha256", "certificate_subject",
                            "rate_limit_per_second", "business"}
    if unknown:
        raise ConfigError(f"{where}: principals[{i}] has unknown fields {sorted(unknown)}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: principals[{i}].name must be 1-64 of [A-Za-z0-9._-], got {name!r}")
    roles = entry.get("roles")
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
        raise ConfigError(f"{where}: principal {name!r} roles must be a non-empty subset of "
                          f"{sorted(ROLES)}, got {roles!r}")
    digest = entry.get("api_key_sha256", "")
    if not isinstance(digest, str) or (digest and not _HEX64.match(digest)):
        raise ConfigError(f"{where}: principal {name!r} api_key_sha256 must be 64 lower-case hex digits")
    subject = entry.get("certificate_subject", "")
    if not isinstance(subject, str) or (subject and not subject.startswith("CN=")):
        raise ConfigError(f"{where}: principal {name!r} certificate_subject must look like 'CN=name', "
                          f"got {subject!r}")
    if not digest and not subject:
        raise ConfigError(f"{where}: principal {name!r} has neither api_key_sha256 nor certificate_subject")
    rate = entry.get("rate_limit_per_second")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0):
        raise ConfigError(f"{where}: principal {name!r} rate_limit_per_second must be > 0, got {rate!r}")
    operator = entry.get("operator", "")
    if not isinstance(operator, str):
        raise ConfigError(f"{where}: principal {name!r} operator must be a string, got {operator!r}")
    business = entry.get("business", "")
    if not isinstance(business, str) or (business and not re.fullmatch(r"[0-9]{10}", business)):
        raise ConfigError(f"{where}: principal {name!r} business must be a 10-digit commercial registration "
                          f"number, got {business!r}")
    return Principal(name=name, roles=frozenset(roles), operator=operator, api_key_sha256=digest,
                     certificate_subject=subject, rate_per_second=None if rate is None else float(rate),
                     business=business)


class Principals:
    """The known principals; finds the one behind a call's credentials.

    Parameters
    ----------
    principals : iterable of Principal
        Names must be unique, and so must keys and certificate subjects.
    """

    def __init__(self, principals: Iterable[Principal]) -> None:
        self._all = tuple(principals)
        for field in ("name", "api_key_sha256", "certificate_subject"):
            values = [getattr(p, field) for p in self._all if getattr(p, field)]
            if len(values) != len(set(values)):
                raise ConfigError(f"principals: two principals share the same {field}")
        self._by_subject = {p.certificate_subject: p for p in self._all if p.certificate_subject}

    @classmethod
    def load(cls, path: str | Path) -> Principals:
        """Read a principals file; :class:`ConfigError` naming the file and the bad entry."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read principals file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"principals file {path} is not valid JSON: {exc}") from None
        entries = data.get("principals") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"principals file {path} must hold {{\"principals\": [ ... ]}} with at least one")
        return cls(_principal(entry, i, str(path)) for i, entry in enumerate(entries))

    def __len__(self) -> int:
        return len(self._all)

    def by_name(self, name: str) -> Principal | None:
        """The principal called ``name`` (None when there is none)."""
        return next((p for p in self._all if p.name == name), None)

    def by_api_key(self, key: str) -> Principal | None:
        """The principal holding ``key``; compares every stored digest in constant time."""
        digest = hash_api_key(key)
        found = None
        for principal in self._all:
            if principal.api_key_sha256 and hmac.compare_digest(principal.api_key_sha256, digest):
                found = principal
        return found

    def by_certificate(self, common_names: Sequence[str]) -> Principal | None:
        """The principal whose ``certificate_subject`` is ``CN=`` one of ``common_names``."""
        for name in common_names:
            principal = self._by_subject.get(f"CN={name}")
            if principal is not None:
                return principal
        return None

    def authenticate(self, metadata: Mapping[str, str], common_names: Sequence[str]) -> Principal:
        """The caller, from its API key (preferred when both are given) or certificate.

        Raises
        ------
        UnauthenticatedError
            No credentials, or credentials matching no principal (the message never echoes a key).
        """
        key = metadata.get(API_KEY_HEADER)
        if key:
            principal = self.by_api_key(key)
            if principal is None:
                raise UnauthenticatedError("the API key in x-api-key is not valid")
            return principal
        if common_names:
            principal = self.by_certificate(common_names)
            if principal is None:
                raise UnauthenticatedError("the client certificate names no known principal")
            return principal
        raise UnauthenticatedError("credentials required: send an API key in the x-api-key metadata "
                                   "or use a client certificate")


def authorize(principal: Principal, method: str) -> None:
    """:class:`PermissionDeniedError` unless ``principal`` may call ``method``."""
    if not principal.may_call(method):
        allowed = sorted(_ALL_METHOD_ROLES.get(method, frozenset()))
        raise PermissionDeniedError(f"principal {principal.name!r} (roles {sorted(principal.roles)}) may not "
                                    f"call {method.rsplit('/', 1)[-1]}; it needs one of {allowed}")
