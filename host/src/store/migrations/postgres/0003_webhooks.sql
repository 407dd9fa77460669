-- reverie schema, version 3, for PostgreSQL: webhook endpoints, and the outbox
-- of events and deliveries. Mirrors ../sqlite/0003_webhooks.sql.

CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    agent_id         TEXT NOT NULL REFERENCES agents (id),
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    previous_secret  TEXT,
    previous_expires BIGINT,
    events           TEXT NOT NULL,
    source           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    disabled_at      BIGINT,
    disabled_reason  TEXT,
    failing_since    BIGINT,
    deleted_at       BIGINT
);
CREATE INDEX webhook_endpoints_by_agent ON webhook_endpoints (agent_id, id);

CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL REFERENCES agents (id),
    type       TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (agent_id, seq)
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    agent_id        TEXT NOT NULL REFERENCES agents (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner     TEXT,
    lease_expires   BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_agent ON webhook_deliveries (agent_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    n           BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
