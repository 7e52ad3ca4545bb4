"""The SIM-registration policy: every tunable of the flow in one frozen dataclass.

Loaded once by :mod:`server.config` from the JSON file given with ``--sim-policy`` (keys as the
attribute names below; ``operator_fmr`` and ``operator_max_active_sims`` as objects keyed by
operator). Unknown keys and out-of-range values are refused with a message naming them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from matcher import InvalidParameterError

__all__ = ["SimPolicy", "load_policy", "policy_from_mapping"]


@dataclass(frozen=True)
class SimPolicy:
    """Policy of the SIM-registration flow (docs/SIM.md, "Policy settings").

    Attributes
    ----------
    max_active_sims_total : int
        Active SIMs one subject may hold over all operators.
    max_active_sims_per_operator : int
        Active SIMs one subject may hold with one operator (default for every operator).
    operator_max_active_sims : tuple of (str, int)
        Per-operator overrides of ``max_active_sims_per_operator``.
    default_fmr : float
        False match rate of the 1:1 decision for operators without their own.
    operator_fmr : tuple of (str, float)
        Per-operator FMR of the 1:1 decision.
    fraud_fmr : float
        A capture matching another enrolled subject at this FMR (or lower) refuses the
        registration and opens a fraud case.
    fraud_check : bool
        Run the 1:N fraud check at all.
    min_image_quality : int
        Captures below this image quality (0-100) get POOR_QUALITY.
    min_minutiae : int
        Captures with fewer minutiae get POOR_QUALITY.
    otp_ttl_seconds : float
        Life of a one-time code.
    otp_max_attempts : int
        Wrong codes before the code is burnt.
    otp_session_seconds : float
        How long after confirmation the code may be used for one online registration.
    outbox_poll_seconds : float
        Interval at which the delivery worker looks for due messages.
    outbox_backoff_seconds, outbox_backoff_max_seconds : float
        First retry delay after a failed delivery, doubled per attempt up to the maximum.
    outbox_lease_seconds : float
        A message being delivered is not picked again (by another worker) for this long.
    """

    max_active_sims_total: int = 10
    max_active_sims_per_operator: int = 5
    operator_max_active_sims: tuple[tuple[str, int], ...] = ()
    default_fmr: float = 1e-4
    operator_fmr: tuple[tuple[str, float], ...] = ()
    fraud_fmr: float = 1e-4
    fraud_check: bool = True
    min_image_quality: int = 20
    min_minutiae: int = 12
    otp_ttl_seconds: float = 300.0
    otp_max_attempts: int = 3
    otp_session_seconds: float = 600.0
    outbox_poll_seconds: float = 0.5
    outbox_backoff_seconds: float = 1.0
    outbox_backoff_max_seconds: float = 300.0
    outbox_lease_seconds: float = 30.0

    def __post_init__(self) -> None:
        def positive_int(name: str, value: Any) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(f"SIM policy {name} must be an integer >= 1, got {value!r}")

        def fmr(name: str, value: Any) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
                raise InvalidParameterError(f"SIM policy {name} must be a false match rate in (0, 1), got {value!r}")

        def seconds(name: str, value: Any) -> None:
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or value <= 0):
                raise InvalidParameterError(f"SIM policy {name} must be a number of seconds > 0, got {value!r}")

        positive_int("max_active_sims_total", self.max_active_sims_total)
        positive_int("max_active_sims_per_operator", self.max_active_sims_per_operator)
        positive_int("otp_max_attempts", self.otp_max_attempts)
        for name, value in self.operator_max_active_sims:
            positive_int(f"operator_max_active_sims[{name!r}]", value)
        fmr("default_fmr", self.default_fmr)
        fmr("fraud_fmr", self.fraud_fmr)
        for name, value in self.operator_fmr:
            fmr(f"operator_fmr[{name!r}]", value)
        for name in ("min_image_quality", "min_minutiae"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise InvalidParameterError(f"SIM policy {name} must be an integer in 0..255, got {value!r}")
        if not isinstance(self.fraud_check, bool):
            raise InvalidParameterError(f"SIM policy fraud_check must be true or false, got {self.fraud_check!r}")
        for name in ("otp_ttl_seconds", "otp_session_seconds", "outbox_poll_seconds", "outbox_backoff_seconds",
                     "outbox_backoff_max_seconds", "outbox_lease_seconds"):
            seconds(name, getattr(self, name))

    def fmr_for(self, operator: str) -> float:
        """The FMR of ``operator``'s 1:1 decisions."""
        return dict(self.operator_fmr).get(operator, self.default_fmr)

    def max_sims_for(self, operator: str) -> int:
        """Active SIMs a subject may hold with ``operator``."""
        return dict(self.operator_max_active_sims).get(operator, self.max_active_sims_per_operator)


def policy_from_mapping(data: Mapping[str, Any], where: str = "SIM policy") -> SimPolicy:
    """A :class:`SimPolicy` from a JSON-like mapping (per-operator tables as objects).

    Examples
    --------
    >>> policy_from_mapping({"max_active_sims_total": 3, "operator_fmr": {"zain": 1e-5}}).fmr_for("zain")
    1e-05
    """
    if not isinstance(data, Mapping):
        raise InvalidParameterError(f"{where} must be a JSON object")
    known = {f.name for f in fields(SimPolicy)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidParameterError(f"{where} has unknown keys {unknown}; known: {sorted(known)}")
    values = dict(data)
    for name in ("operator_fmr", "operator_max_active_sims"):
        if name in values:
            table = values[name]
            if not isinstance(table, Mapping):
                raise InvalidParameterError(f"{where} {name} must be an object keyed by operator")
            values[name] = tuple(sorted(table.items()))
    return SimPolicy(**values)


def load_policy(path: Path) -> SimPolicy:
    """Read a policy JSON file (:class:`InvalidParameterError` naming the file on any problem)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidParameterError(f"cannot read SIM policy file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidParameterError(f"SIM policy file {path} is not valid JSON: {exc}") from None
    return policy_from_mapping(data, f"SIM policy file {path}")
