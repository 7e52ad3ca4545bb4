-- Basma template store, schema version 1 (PostgreSQL). Same logical schema as
-- ../sqlite/0001_initial.sql. Subject ids sort in code-point order (COLLATE "C") as in
-- SQLite; templates are AES-256-GCM blobs (server/storage/crypto.py), never plaintext.

CREATE TABLE subjects (
    subject    TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (char_length(subject) BETWEEN 1 AND 64),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE fingers (
    subject  TEXT COLLATE "C" NOT NULL REFERENCES subjects (subject) ON DELETE CASCADE,
    position SMALLINT NOT NULL CHECK (position BETWEEN 0 AND 10),
    template BYTEA NOT NULL,
    PRIMARY KEY (subject, position)
);

CREATE TABLE schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
