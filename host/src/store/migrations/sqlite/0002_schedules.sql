-- reverie schema, version 2: schedules, slots and leases.

-- Per-agent override of [server] min_interactions (NULL: the server default).
ALTER TABLE agents ADD COLUMN min_new_interactions INTEGER;

-- One row per agent: where its schedule stands. next_slot is the nominal fire
-- time (from the cron expression, in the agent's time zone, as an instant);
-- next_run_at adds the agent's jitter and is what the scheduler scans. Both are
-- NULL while dreaming is off or paused.
CREATE TABLE schedules (
    agent_id      TEXT PRIMARY KEY REFERENCES agents (id),
    next_slot     INTEGER,
    next_run_at   INTEGER,
    paused        INTEGER NOT NULL DEFAULT 0,
    last_slot     INTEGER,
    overlap_skips INTEGER NOT NULL DEFAULT 0,
    missed_slots  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX schedules_due ON schedules (next_run_at);
INSERT INTO schedules (agent_id) SELECT id FROM agents;

-- Pause, resume and run-now, with who asked (RELIABILITY 17).
CREATE TABLE schedule_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    at       INTEGER NOT NULL,
    action   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    detail   TEXT
);
CREATE INDEX schedule_events_by_agent ON schedule_events (agent_id, seq);

-- A scheduled dream names its slot; at most one dream per (agent, slot), whichever
-- replica got there first (NULLs, for dreams asked for by a person, never clash).
ALTER TABLE dreams ADD COLUMN slot INTEGER;
CREATE UNIQUE INDEX dreams_one_per_slot ON dreams (agent_id, slot);

-- Leases: the worker running a dream, until when, and how many times it was claimed.
ALTER TABLE dreams ADD COLUMN lease_owner TEXT;
ALTER TABLE dreams ADD COLUMN lease_expires INTEGER;
ALTER TABLE dreams ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- "Has this agent a dream pending or running?" (claims and overlap checks) reads
-- only the few active rows, never an agent's whole history.
CREATE INDEX dreams_active ON dreams (status, agent_id);
