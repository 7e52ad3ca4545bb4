-- Basma template store, schema version 1 (SQLite). Same logical schema as
-- ../postgresql/0001_initial.sql. Timestamps are ISO-8601 UTC text; templates are
-- AES-256-GCM blobs (server/storage/crypto.py), never plaintext.

CREATE TABLE subjects (
    subject    TEXT NOT NULL PRIMARY KEY CHECK (length(subject) BETWEEN 1 AND 64),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE fingers (
    subject  TEXT NOT NULL REFERENCES subjects (subject) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 10),
    template BLOB NOT NULL CHECK (typeof(template) = 'blob'),
    PRIMARY KEY (subject, position)
);

CREATE TABLE schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
