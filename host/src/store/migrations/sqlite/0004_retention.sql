-- reverie schema, version 4: retention.

-- When the retention sweeper removed a dream's raw run output (each rule's log
-- lines and captured output) from its report; the rest of the report stays.
ALTER TABLE dreams ADD COLUMN logs_swept_at INTEGER;

-- What the sweeper looks for, found without reading whole tables every hour.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, finished_at);
-- "Does a delivery still need this event?"
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_events_by_age ON webhook_events (created_at);
CREATE INDEX dreams_logs_to_sweep ON dreams (finished_at)
    WHERE report IS NOT NULL AND logs_swept_at IS NULL;
