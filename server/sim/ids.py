"""Validation of the identifiers of the SIM flow: national/iqama ids, MSISDNs, operators, keys.

Each ``check_*`` function returns the normalised value or raises
:class:`matcher.InvalidParameterError` naming the field (never echoing a full national id).
"""

from __future__ import annotations

import re

from matcher import InvalidParameterError
from server.logs import mask_id

__all__ = ["check_national_id", "luhn_valid", "with_check_digit", "check_msisdn", "check_operator",
           "check_idempotency_key", "check_cr_number", "mask_id"]

_DIGITS10 = re.compile(r"^[0-9]{10}$")
_OPERATOR = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Accepted MSISDN spellings of a Saudi mobile number (the 9 digits after the country code 966).
_MSISDN_FORMS = (re.compile(r"^\+966(5[0-9]{8})$"), re.compile(r"^00966(5[0-9]{8})$"),
                 re.compile(r"^966(5[0-9]{8})$"), re.compile(r"^0(5[0-9]{8})$"))


def luhn_valid(digits: str) -> bool:
    """The Luhn check (the Saudi ID rule): doubling every second digit from the right.

    Examples
    --------
    >>> luhn_valid("1000000008"), luhn_valid("1000000009")
    (True, False)
    """
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def with_check_digit(nine_digits: str) -> str:
    """``nine_digits`` followed by the Luhn check digit that makes a valid 10-digit id.

    Examples
    --------
    >>> with_check_digit("100000000")
    '1000000008'
    """
    if not re.fullmatch(r"[0-9]{9}", nine_digits):
        raise InvalidParameterError("with_check_digit needs exactly 9 digits")
    for check in "0123456789":
        if luhn_valid(nine_digits + check):
            return nine_digits + check
    raise AssertionError("unreachable: one check digit always fits")  # pragma: no cover


def check_national_id(value: str, field: str = "national_id") -> str:
    """A Saudi national ID (first digit 1) or iqama number (2): 10 digits with a Luhn check digit.

    Examples
    --------
    >>> check_national_id("1000000008")
    '1000000008'
    >>> check_national_id("1000000009")
    Traceback (most recent call last):
    ...
    matcher.errors.InvalidParameterError: national_id 10******09 fails the check digit
    """
    if not value:
        raise InvalidParameterError(f"{field} is required")
    if not _DIGITS10.match(value):
        raise InvalidParameterError(f"{field} must be 10 digits, got {len(value)} characters")
    if value[0] not in "12":
        raise InvalidParameterError(f"{field} must start with 1 (citizen) or 2 (resident), got {value[0]}")
    if not luhn_valid(value):
        raise InvalidParameterError(f"{field} {mask_id(value)} fails the check digit")
    return value


def check_msisdn(value: str, field: str = "msisdn") -> str:
    """A Saudi mobile number as E.164 (``+9665XXXXXXXX``), from any accepted spelling.

    Examples
    --------
    >>> check_msisdn("0551234567"), check_msisdn("+966551234567"), check_msisdn("00966551234567")
    ('+966551234567', '+966551234567', '+966551234567')
    """
    if not value:
        raise InvalidParameterError(f"{field} is required")
    for form in _MSISDN_FORMS:
        found = form.match(value)
        if found:
            return "+966" + found.group(1)
    raise InvalidParameterError(f"{field} must be a Saudi mobile number as +9665XXXXXXXX or 05XXXXXXXX "
                                f"({len(value)} characters given)")


def check_operator(value: str, field: str = "operator") -> str:
    """An operator name: 1-32 of ``[a-z0-9-]`` starting with a letter or digit."""
    if not _OPERATOR.match(value or ""):
        raise InvalidParameterError(f"{field} must be 1-32 of [a-z0-9-], got {value!r}")
    return value


def check_idempotency_key(value: str) -> str:
    """1-128 of ``[A-Za-z0-9._:-]``."""
    if not _KEY.match(value or ""):
        raise InvalidParameterError("idempotency_key must be 1-128 of [A-Za-z0-9._:-]"
                                    + (" (it is required)" if not value else ""))
    return value


def check_cr_number(value: str, field: str = "cr_number") -> str:
    """A commercial registration number: 10 digits."""
    if not _DIGITS10.match(value or ""):
        raise InvalidParameterError(f"{field} must be 10 digits, got {value!r}")
    return value
