-- reverie schema, version 1, for PostgreSQL. Mirrors ../sqlite/0001_init.sql
-- table for table and column for column (a test compares the two schemas):
-- times are BIGINT milliseconds since the epoch, flags are BOOLEAN, hashes
-- BYTEA, and arrival order is an identity column.

CREATE TABLE agents (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    model              TEXT NOT NULL,
    dreaming_enabled   BOOLEAN NOT NULL,
    dreaming_frequency TEXT NOT NULL,
    timezone           TEXT NOT NULL,
    feedback_webhook   TEXT,
    live_version       BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE config_versions (
    agent_id      TEXT NOT NULL REFERENCES agents (id),
    version       BIGINT NOT NULL,
    system_prompt TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (agent_id, version)
);

CREATE TABLE interactions (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id       TEXT NOT NULL REFERENCES agents (id),
    id             TEXT NOT NULL,
    timestamp_ms   BIGINT NOT NULL,
    config_version TEXT NOT NULL,
    body           TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    UNIQUE (agent_id, id)
);
CREATE INDEX interactions_window ON interactions (agent_id, timestamp_ms, seq);

CREATE TABLE feedback (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    agent_id       TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    rating         TEXT NOT NULL CHECK (rating IN ('positive', 'negative', 'neutral')),
    comment        TEXT,
    created_at     BIGINT NOT NULL,
    FOREIGN KEY (agent_id, interaction_id) REFERENCES interactions (agent_id, id)
);
CREATE INDEX feedback_interaction ON feedback (agent_id, interaction_id);

CREATE TABLE dreams (
    id           TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL REFERENCES agents (id),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    trigger      TEXT NOT NULL,
    window_start BIGINT,
    window_end   BIGINT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    error        TEXT,
    summary      TEXT,
    n_interactions BIGINT,
    n_patterns     BIGINT,
    n_suggestions  BIGINT,
    report       TEXT
);
CREATE INDEX dreams_by_agent ON dreams (agent_id, id);
CREATE INDEX dreams_by_status ON dreams (status, id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    agent_id   TEXT REFERENCES agents (id),
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE idempotency_keys (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
