-- reverie schema, version 2, for PostgreSQL: schedules, slots and leases.
-- Mirrors ../sqlite/0002_schedules.sql.

ALTER TABLE agents ADD COLUMN min_new_interactions BIGINT;

CREATE TABLE schedules (
    agent_id      TEXT PRIMARY KEY REFERENCES agents (id),
    next_slot     BIGINT,
    next_run_at   BIGINT,
    paused        BOOLEAN NOT NULL DEFAULT FALSE,
    last_slot     BIGINT,
    overlap_skips BIGINT NOT NULL DEFAULT 0,
    missed_slots  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX schedules_due ON schedules (next_run_at);
INSERT INTO schedules (agent_id) SELECT id FROM agents;

CREATE TABLE schedule_events (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    at       BIGINT NOT NULL,
    action   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    detail   TEXT
);
CREATE INDEX schedule_events_by_agent ON schedule_events (agent_id, seq);

-- At most one dream per (agent, slot), whichever replica got there first.
ALTER TABLE dreams ADD COLUMN slot BIGINT;
CREATE UNIQUE INDEX dreams_one_per_slot ON dreams (agent_id, slot);

ALTER TABLE dreams ADD COLUMN lease_owner TEXT;
ALTER TABLE dreams ADD COLUMN lease_expires BIGINT;
ALTER TABLE dreams ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
CREATE INDEX dreams_active ON dreams (status, agent_id);
