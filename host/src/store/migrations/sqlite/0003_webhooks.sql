-- reverie schema, version 3: webhook endpoints, and the outbox of events and deliveries.

-- Where an agent's events go. The secret signs them (Standard Webhooks): it is a
-- shared key the server must hold to sign, not a password, so it is stored as
-- given. During a rotation the previous secret also signs until it expires.
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    agent_id         TEXT NOT NULL REFERENCES agents (id),
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    previous_secret  TEXT,
    previous_expires INTEGER,
    -- JSON array of event types; ["*"] for all.
    events           TEXT NOT NULL,
    -- 'api' (registered), or 'feedback_webhook' (the agent's field).
    source           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    disabled_at      INTEGER,
    disabled_reason  TEXT,
    -- Start of the current unbroken run of failures; NULL after a success.
    failing_since    INTEGER,
    deleted_at       INTEGER
);
CREATE INDEX webhook_endpoints_by_agent ON webhook_endpoints (agent_id, id);

-- One row per event: its id is the `webhook-id` of every attempt to send it.
CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL REFERENCES agents (id),
    type       TEXT NOT NULL,
    -- Per-agent sequence number, carried in the payload (no ordering promise).
    seq        INTEGER NOT NULL,
    -- The event's own fields (JSON object); the envelope is added when sent.
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (agent_id, seq)
);

-- The outbox: one row per (event, endpoint), written in the same transaction as
-- what the event reports.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    agent_id        TEXT NOT NULL REFERENCES agents (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner     TEXT,
    lease_expires   INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_agent ON webhook_deliveries (agent_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
