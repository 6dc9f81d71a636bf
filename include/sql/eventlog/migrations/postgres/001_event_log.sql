-- The event log (outbox): one row per change, delivered at least once under a stable event_id.
CREATE TABLE IF NOT EXISTS moodle_sync_event_log (
    id BIGSERIAL PRIMARY KEY,
    event_id UUID NOT NULL,
    event_type VARCHAR(40) NOT NULL,
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    sequence INTEGER NOT NULL,
    payload TEXT NOT NULL,
    status VARCHAR(10) NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_retry_at TIMESTAMPTZ NULL,
    last_error TEXT NULL,
    last_http_status SMALLINT NULL,
    locked_by VARCHAR(250) NULL,
    locked_until TIMESTAMPTZ NULL,
    source_modified BIGINT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ NULL,
    dag_run_id VARCHAR(250) NULL,
    CONSTRAINT uq_moodle_sync_event_id UNIQUE (event_id),
    CONSTRAINT uq_moodle_sync_entity_sequence UNIQUE (entity_type, entity_key, sequence)
);
CREATE INDEX IF NOT EXISTS ix_moodle_sync_due ON moodle_sync_event_log (entity_type, status, next_retry_at);

-- What the sync last emitted per entity key: the per-key sequence and a hash of the synced content.
CREATE TABLE IF NOT EXISTS moodle_sync_entity_state (
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    sequence INTEGER NOT NULL,
    content_hash CHAR(32) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (entity_type, entity_key)
);

-- Up to which Moodle time (unix seconds) each entity is synced.
CREATE TABLE IF NOT EXISTS moodle_sync_watermark (
    entity_type VARCHAR(20) NOT NULL PRIMARY KEY,
    synced_until BIGINT NOT NULL,
    dag_run_id VARCHAR(250) NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Snapshot of Moodle rows whose change writes no timestamp (enrolment method status).
CREATE TABLE IF NOT EXISTS moodle_sync_watched_state (
    entity_type VARCHAR(20) NOT NULL,
    watched_key VARCHAR(64) NOT NULL,
    watched_value VARCHAR(64) NOT NULL,
    PRIMARY KEY (entity_type, watched_key)
);

-- Rows that failed validation: the source key and the reason, never the row's personal data.
CREATE TABLE IF NOT EXISTS moodle_sync_quarantine (
    id BIGSERIAL PRIMARY KEY,
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    reason VARCHAR(255) NOT NULL,
    times_seen INTEGER NOT NULL DEFAULT 1,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    dag_run_id VARCHAR(250) NULL,
    CONSTRAINT uq_moodle_sync_quarantine UNIQUE (entity_type, entity_key, reason)
);
