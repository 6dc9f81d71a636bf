-- The event log (outbox): one row per change, delivered at least once under a stable event_id.
CREATE TABLE IF NOT EXISTS moodle_sync_event_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id CHAR(36) CHARACTER SET ascii NOT NULL,
    event_type VARCHAR(40) NOT NULL,
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    sequence INT NOT NULL,
    payload LONGTEXT NOT NULL,
    status VARCHAR(10) NOT NULL DEFAULT 'pending',
    attempts INT NOT NULL DEFAULT 0,
    next_retry_at DATETIME(6) NULL,
    last_error TEXT NULL,
    last_http_status SMALLINT NULL,
    locked_by VARCHAR(250) NULL,
    locked_until DATETIME(6) NULL,
    source_modified BIGINT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    sent_at DATETIME(6) NULL,
    dag_run_id VARCHAR(250) NULL,
    UNIQUE KEY uq_moodle_sync_event_id (event_id),
    UNIQUE KEY uq_moodle_sync_entity_sequence (entity_type, entity_key, sequence),
    KEY ix_moodle_sync_due (entity_type, status, next_retry_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What the sync last emitted per entity key: the per-key sequence and a hash of the synced content.
CREATE TABLE IF NOT EXISTS moodle_sync_entity_state (
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    sequence INT NOT NULL,
    content_hash CHAR(32) NOT NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (entity_type, entity_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Up to which Moodle time (unix seconds) each entity is synced.
CREATE TABLE IF NOT EXISTS moodle_sync_watermark (
    entity_type VARCHAR(20) NOT NULL PRIMARY KEY,
    synced_until BIGINT NOT NULL,
    dag_run_id VARCHAR(250) NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Snapshot of Moodle rows whose change writes no timestamp (enrolment method status).
CREATE TABLE IF NOT EXISTS moodle_sync_watched_state (
    entity_type VARCHAR(20) NOT NULL,
    watched_key VARCHAR(64) NOT NULL,
    watched_value VARCHAR(64) NOT NULL,
    PRIMARY KEY (entity_type, watched_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Rows that failed validation: the source key and the reason, never the row's personal data.
CREATE TABLE IF NOT EXISTS moodle_sync_quarantine (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    reason VARCHAR(255) NOT NULL,
    times_seen INT NOT NULL DEFAULT 1,
    first_seen_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    last_seen_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    dag_run_id VARCHAR(250) NULL,
    UNIQUE KEY uq_moodle_sync_quarantine (entity_type, entity_key, reason)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
