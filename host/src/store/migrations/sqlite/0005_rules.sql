-- reverie schema, version 5: installed rules and agents' rule sets.

-- A rule installed over the API, content-addressed: `id` is `sha256:` and the
-- hex digest of `component`, so installing the same bytes twice is one row.
-- `info` is what the rule's `info()` said at install, with its contract
-- version and capabilities (JSON).
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    info TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    component BLOB NOT NULL,
    installed_at INTEGER NOT NULL
);

-- An agent's own rule set (JSON list of entries); no row: the server's default set.
CREATE TABLE agent_rule_sets (
    agent_id TEXT PRIMARY KEY REFERENCES agents (id),
    rules TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The installed rules each set names, so that removing a rule in use is
-- refused without reading every set.
CREATE TABLE agent_rule_uses (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    rule_id TEXT NOT NULL REFERENCES rules (id),
    PRIMARY KEY (agent_id, rule_id)
);
CREATE INDEX agent_rule_uses_by_rule ON agent_rule_uses (rule_id);
