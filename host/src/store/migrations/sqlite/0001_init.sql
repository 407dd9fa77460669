-- reverie schema, version 1.
-- Portable SQL: times are integer milliseconds since the epoch, booleans are
-- 0/1 integers, ids are text. The PostgreSQL migration mirrors this file with
-- BIGINT, BOOLEAN, BYTEA and identity columns.

CREATE TABLE agents (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    model              TEXT NOT NULL,
    dreaming_enabled   INTEGER NOT NULL,
    dreaming_frequency TEXT NOT NULL,
    timezone           TEXT NOT NULL,
    feedback_webhook   TEXT,
    live_version       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- Immutable snapshots of an agent's config; agents.live_version points at one.
CREATE TABLE config_versions (
    agent_id      TEXT NOT NULL REFERENCES agents (id),
    version       INTEGER NOT NULL,
    system_prompt TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (agent_id, version)
);

-- seq is the arrival order; (agent_id, id) is the client's identity for the row.
CREATE TABLE interactions (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id       TEXT NOT NULL REFERENCES agents (id),
    id             TEXT NOT NULL,
    timestamp_ms   INTEGER NOT NULL,
    config_version TEXT NOT NULL,
    body           TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    UNIQUE (agent_id, id)
);
-- Dreams read a window in (timestamp, seq) order.
CREATE INDEX interactions_window ON interactions (agent_id, timestamp_ms, seq);

CREATE TABLE feedback (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    agent_id       TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    rating         TEXT NOT NULL CHECK (rating IN ('positive', 'negative', 'neutral')),
    comment        TEXT,
    created_at     INTEGER NOT NULL,
    FOREIGN KEY (agent_id, interaction_id) REFERENCES interactions (agent_id, id)
);
CREATE INDEX feedback_interaction ON feedback (agent_id, interaction_id);

CREATE TABLE dreams (
    id           TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL REFERENCES agents (id),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    trigger      TEXT NOT NULL,
    window_start INTEGER,
    window_end   INTEGER,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    error        TEXT,
    summary      TEXT,
    n_interactions INTEGER,
    n_patterns     INTEGER,
    n_suggestions  INTEGER,
    report       TEXT
);
CREATE INDEX dreams_by_agent ON dreams (agent_id, id);
CREATE INDEX dreams_by_status ON dreams (status, id);

-- The secret is never stored: only its sha256.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    agent_id   TEXT REFERENCES agents (id),
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE idempotency_keys (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
);
