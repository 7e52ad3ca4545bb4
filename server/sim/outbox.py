"""The durable SMS outbox: messages queued inside the transaction of their cause, delivered later.

Delivery is at-least-once (a message leaves the ``pending`` state only after the adapter said it
was sent) made exactly-once by an idempotent adapter keyed by the message id: an adapter must
treat a second ``send`` of an id it already delivered as a success without sending again
(:class:`FileSmsAdapter` remembers the ids it wrote). A failed delivery is retried with
exponential back-off, forever: a message is never dropped. Texts are in Arabic and English.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from server.metrics import Metrics
from server.sim.ids import mask_id
from server.storage import Store
from server.storage.sql import Cursor, as_datetime, utc_now

__all__ = ["SmsMessage", "SmsAdapter", "FileSmsAdapter", "OutboxWorker", "enqueue", "texts", "list_messages",
           "KINDS"]

log = logging.getLogger(__name__)

KINDS = ("register", "reverify", "transfer", "deactivate", "otp")
_OPERATOR_AR = {"stc": "إس تي سي", "mobily": "موبايلي", "zain": "زين"}
_OPERATOR_EN = {"stc": "stc", "mobily": "Mobily", "zain": "Zain"}


def texts(kind: str, *, msisdn: str, operator: str, ref: str = "", code: str = "", minutes: int = 0
          ) -> tuple[str, str]:
    """``(arabic, english)`` text of an SMS of ``kind`` (the MSISDN shown masked).

    Examples
    --------
    >>> texts("otp", msisdn="+966551234567", operator="zain", code="123456", minutes=5)[1]
    'Your verification code is 123456. It expires in 5 minutes. Do not share it.'
    """
    number = mask_id(msisdn)
    name_en = _OPERATOR_EN.get(operator, operator)
    name_ar = _OPERATOR_AR.get(operator, name_en)
    short = ref[:8]
    if kind == "register":
        return (f"تم توثيق بصمتك وتسجيل الشريحة {number} باسمك لدى {name_ar}. المرجع {short}.",
                f"Your fingerprint was verified and SIM {number} is now registered to you with {name_en}. "
                f"Ref {short}.")
    if kind == "reverify":
        return (f"تم إعادة توثيق بصمتك للشريحة {number} لدى {name_ar}. المرجع {short}.",
                f"Your fingerprint was verified again for SIM {number} with {name_en}. Ref {short}.")
    if kind == "transfer":
        return (f"تم نقل ملكية الشريحة {number} إلى مالك جديد بعد توثيق البصمة لدى {name_ar}. المرجع {short}.",
                f"SIM {number} was transferred to a new holder after fingerprint verification with {name_en}. "
                f"Ref {short}.")
    if kind == "deactivate":
        return (f"تم إلغاء تفعيل الشريحة {number} المسجلة باسمك لدى {name_ar}.",
                f"SIM {number} registered to you with {name_en} has been deactivated.")
    if kind == "otp":
        return (f"رمز التحقق الخاص بك هو {code}. ينتهي خلال {minutes} دقائق. لا تشاركه مع أحد.",
                f"Your verification code is {code}. It expires in {minutes} minutes. Do not share it.")
    raise ValueError(f"unknown SMS kind {kind!r}")


def enqueue(cur: Cursor, kind: str, ref: str, msisdn: str, text_ar: str, text_en: str) -> str:
    """Queue one SMS inside the caller's transaction; returns its message id."""
    message_id = uuid.uuid4().hex
    now = utc_now()
    cur.execute("INSERT INTO sim_outbox (id, kind, ref, msisdn, text_ar, text_en, status, attempts, "
                "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                (message_id, kind, ref, msisdn, text_ar, text_en, now, now))
    return message_id


@dataclass(frozen=True)
class SmsMessage:
    """One SMS to deliver (``msisdn`` in E.164)."""

    id: str
    kind: str
    ref: str
    msisdn: str
    text_ar: str
    text_en: str


class SmsAdapter(Protocol):
    """Sends SMS. ``send`` must be idempotent per ``message.id`` and raise on failure."""

    def send(self, message: SmsMessage) -> None: ...


class FileSmsAdapter:
    """The development adapter: appends each SMS as one JSON line to ``path`` (fsynced).

    The line holds the message id, kind, reference, masked MSISDN and both texts. Ids already
    in the file are skipped, so a message delivered before a crash is not written twice.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._sent: set[str] = set()
        if self.path.is_file():
            text = self.path.read_text(encoding="utf-8", errors="replace")
            if text and not text.endswith("\n"):  # end a line torn by a crash, so it is not merged with the next
                with self.path.open("a", encoding="utf-8") as f:
                    f.write("\n")
            for line in text.splitlines():
                try:
                    self._sent.add(json.loads(line)["id"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line of a crash: its message is sent again

    def send(self, message: SmsMessage) -> None:
        with self._lock:
            if message.id in self._sent:
                return
            line = json.dumps({"id": message.id, "at": utc_now().isoformat(timespec="milliseconds"),
                               "kind": message.kind, "ref": message.ref, "to": mask_id(message.msisdn),
                               "ar": message.text_ar, "en": message.text_en}, ensure_ascii=False)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            self._sent.add(message.id)


class OutboxWorker:
    """Background delivery of due outbox messages with retries and exponential back-off.

    Parameters
    ----------
    store : Store
    adapter : SmsAdapter
    metrics : Metrics
    poll_seconds, backoff_seconds, backoff_max_seconds, lease_seconds : float
        See :class:`server.sim.policy.SimPolicy`.
    """

    def __init__(self, store: Store, adapter: SmsAdapter, metrics: Metrics, *, poll_seconds: float,
                 backoff_seconds: float, backoff_max_seconds: float, lease_seconds: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._adapter = adapter
        self._metrics = metrics
        self._poll = poll_seconds
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> OutboxWorker:
        self._thread = threading.Thread(target=self._loop, name="basma-sms-outbox", daemon=True)
        self._thread.start()
        return self

    def notify(self) -> None:
        """A message was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                while self.deliver_due() and not self._stop.is_set():
                    pass
            except Exception:  # the store may be briefly unavailable: try again at the next poll
                log.exception("outbox delivery pass failed")
            self._wake.wait(self._poll)
            self._wake.clear()

    def deliver_due(self, batch: int = 50) -> int:
        """Deliver up to ``batch`` due messages; returns how many were handled (sent or failed)."""
        now = self._clock()
        with self._store.transaction() as cur:
            cur.execute("SELECT id, kind, ref, msisdn, text_ar, text_en, attempts FROM sim_outbox "
                        "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                        (now, batch))
            rows = cur.fetchall()
            claimed = []
            for row in rows:  # lease each message so that another worker does not pick it meanwhile
                cur.execute("UPDATE sim_outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending' "
                            "AND next_attempt_at <= ?", (now + self._lease, row[0], now))
                if cur.rowcount == 1:
                    claimed.append(row)
            cur.execute("SELECT COUNT(*) FROM sim_outbox WHERE status = 'pending'")
            pending = int((cur.fetchone() or (0,))[0])
        self._metrics.sim_outbox_pending.set(pending)
        for message_id, kind, ref, msisdn, text_ar, text_en, attempts in claimed:
            message = SmsMessage(message_id, kind, ref, msisdn, text_ar, text_en)
            try:
                self._adapter.send(message)
            except Exception as exc:
                delay = min(self._backoff_max, self._backoff * 2 ** min(int(attempts), 30))
                self._metrics.sim_outbox_failures_total.inc()
                log.warning("SMS delivery failed; will retry", extra={"message_id": message_id, "kind": kind,
                                                                     "retry_in_s": delay, "error": type(exc).__name__})
                with self._store.transaction() as cur:
                    cur.execute("UPDATE sim_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                                "WHERE id = ? AND status = 'pending'",
                                (self._clock() + timedelta(seconds=delay), type(exc).__name__, message_id))
                continue
            with self._store.transaction() as cur:
                cur.execute("UPDATE sim_outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ? "
                            "WHERE id = ? AND status = 'pending'", (self._clock(), message_id))
            self._metrics.sim_outbox_delivered_total.inc()
            self._metrics.sim_outbox_pending.dec()
        return len(claimed)


def list_messages(store: Store, *, status: str = "", limit: int = 100) -> list[dict[str, object]]:
    """Outbox messages, newest first (MSISDN masked; OTP codes redacted)."""
    sql = ("SELECT id, kind, msisdn, text_ar, text_en, status, attempts, created_at, delivered_at FROM sim_outbox"
           + (" WHERE status = ?" if status else "") + " ORDER BY created_at DESC, id LIMIT ?")
    with store.transaction(readonly=True) as cur:
        cur.execute(sql, (status, limit) if status else (limit,))
        rows = cur.fetchall()
    out = []
    for message_id, kind, msisdn, text_ar, text_en, state, attempts, created, delivered in rows:
        if kind == "otp":
            text_ar, text_en = _redact(text_ar), _redact(text_en)
        out.append({"id": message_id, "kind": kind, "msisdn_masked": mask_id(msisdn), "text_ar": text_ar,
                    "text_en": text_en, "status": state, "attempts": int(attempts),
                    "created_at": as_datetime(created),
                    "delivered_at": as_datetime(delivered) if delivered is not None else None})
    return out


def _redact(text: str) -> str:
    return "".join("•" if c.isdigit() else c for c in text)
