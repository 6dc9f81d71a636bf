-- Delivery you can trust: every attempt recorded, endpoints that can be paused, a retry budget that a
-- replay restarts, and an index that lets a claim walk only the deliverable rows.
CREATE TABLE IF NOT EXISTS moodle_sync_delivery_attempt (
    id BIGSERIAL PRIMARY KEY,
    event_id UUID NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status SMALLINT NULL,
    outcome VARCHAR(10) NOT NULL,
    error_class VARCHAR(20) NULL,
    response_excerpt TEXT NULL,
    next_retry_at TIMESTAMPTZ NULL,
    dag_run_id VARCHAR(250) NULL,
    task_id VARCHAR(250) NULL
);
CREATE INDEX IF NOT EXISTS ix_moodle_sync_attempt_event ON moodle_sync_delivery_attempt (event_id, attempt);

CREATE TABLE IF NOT EXISTS moodle_sync_endpoint_state (
    endpoint VARCHAR(250) NOT NULL PRIMARY KEY,
    state VARCHAR(12) NOT NULL,
    reason TEXT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE moodle_sync_event_log ADD COLUMN IF NOT EXISTS budget_started_at TIMESTAMPTZ NULL;
UPDATE moodle_sync_event_log SET budget_started_at = created_at WHERE budget_started_at IS NULL;
-- Only deliverable rows keep a next_retry_at: the claim walks this index in due order and stops early.
UPDATE moodle_sync_event_log SET next_retry_at = NULL WHERE status NOT IN ('pending', 'failed');
CREATE INDEX IF NOT EXISTS ix_moodle_sync_next_retry ON moodle_sync_event_log (next_retry_at, id)
    WHERE next_retry_at IS NOT NULL;
DROP INDEX IF EXISTS ix_moodle_sync_due;
