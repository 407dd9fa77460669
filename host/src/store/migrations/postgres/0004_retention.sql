-- reverie schema, version 4, for PostgreSQL: retention.
-- Mirrors ../sqlite/0004_retention.sql.

ALTER TABLE dreams ADD COLUMN logs_swept_at BIGINT;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, finished_at);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_events_by_age ON webhook_events (created_at);
CREATE INDEX dreams_logs_to_sweep ON dreams (finished_at)
    WHERE report IS NOT NULL AND logs_swept_at IS NULL;
