-- Basma SIM registration, schema version 2 (SQLite). Same logical schema as
-- ../postgresql/0002_sim.sql; docs/SIM.md describes the tables. Timestamps are ISO-8601 UTC text.

-- One row per binding of an MSISDN to a subject; at most one active row per MSISDN.
CREATE TABLE sim_bindings (
    id             TEXT NOT NULL PRIMARY KEY,
    msisdn         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    operator       TEXT NOT NULL,
    sim_type       TEXT NOT NULL CHECK (sim_type IN ('prepaid', 'postpaid', 'data')),
    channel        TEXT NOT NULL CHECK (channel IN ('store', 'kiosk', 'online', 'delegate')),
    business       TEXT NOT NULL DEFAULT '',
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at     TEXT NOT NULL,
    verified_at    TEXT NOT NULL,
    deactivated_at TEXT
);
CREATE UNIQUE INDEX sim_bindings_active_msisdn ON sim_bindings (msisdn) WHERE active = 1;
CREATE INDEX sim_bindings_subject ON sim_bindings (subject, active);

-- The reply given to (operator, idempotency key), written in the transaction of its effects.
CREATE TABLE sim_idempotency (
    operator       TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    reply          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (operator, key)
);

-- SMS to deliver (durable outbox); delivered rows stay as the record.
CREATE TABLE sim_outbox (
    id              TEXT NOT NULL PRIMARY KEY,
    kind            TEXT NOT NULL,
    ref             TEXT NOT NULL,
    msisdn          TEXT NOT NULL,
    text_ar         TEXT NOT NULL,
    text_en         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sim_outbox_due ON sim_outbox (status, next_attempt_at);

-- One-time codes of the online channel (only a salted hash of the code is kept).
CREATE TABLE sim_otp (
    id           TEXT NOT NULL PRIMARY KEY,
    subject      TEXT NOT NULL,
    msisdn       TEXT NOT NULL,
    operator     TEXT NOT NULL,
    code_sha256  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'expired', 'used')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    confirmed_at TEXT
);

CREATE TABLE sim_businesses (
    cr_number  TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE sim_delegates (
    business   TEXT NOT NULL REFERENCES sim_businesses (cr_number),
    principal  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (business, principal)
);

CREATE TABLE sim_business_users (
    business   TEXT NOT NULL REFERENCES sim_businesses (cr_number),
    subject    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (business, subject)
);

-- Registrations refused because a capture identified another subject: cases for review.
CREATE TABLE sim_fraud_flags (
    id              TEXT NOT NULL PRIMARY KEY,
    at              TEXT NOT NULL,
    operator        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    claimed_subject TEXT NOT NULL,
    matched_subject TEXT NOT NULL,
    score           REAL NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open'
);

-- Append-only audit log: masked ids, no fingerprint data; UPDATE and DELETE are refused.
CREATE TABLE sim_audit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    action          TEXT NOT NULL,
    principal       TEXT NOT NULL,
    operator        TEXT NOT NULL,
    business        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    subject_masked  TEXT NOT NULL,
    msisdn_masked   TEXT NOT NULL,
    decision        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    request_id      TEXT NOT NULL
);
CREATE TRIGGER sim_audit_no_update BEFORE UPDATE ON sim_audit
BEGIN
    SELECT RAISE(ABORT, 'sim_audit is append-only');
END;
CREATE TRIGGER sim_audit_no_delete BEFORE DELETE ON sim_audit
BEGIN
    SELECT RAISE(ABORT, 'sim_audit is append-only');
END;
