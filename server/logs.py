"""Structured (JSON lines) logging and masking of personal identifiers.

Every record is one JSON object: ``ts`` (UTC ISO 8601), ``level``, ``logger``, ``msg`` and the
``extra`` fields passed to the call (``request_id``, ``method``, ``principal``, ``code``,
``duration_ms``, ``subject`` — masked with :func:`mask_id`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

__all__ = ["JsonFormatter", "mask_id", "configure_logging"]

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask_id(value: str | None) -> str:
    """Mask an identifier (national ID, phone number) for logs: keep 2 characters at each end.

    Identifiers of 6 characters or fewer are masked entirely.

    Examples
    --------
    >>> mask_id("1234567890")
    '12******90'
    >>> mask_id("12345"), mask_id(""), mask_id(None)
    ('*****', '', '')
    """
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send the root logger's records to ``stream`` (default stderr) as JSON lines; return the handler."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
