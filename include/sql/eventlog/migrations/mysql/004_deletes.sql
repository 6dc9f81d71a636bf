-- Deletes: a key's state records that Moodle hard-deleted it (a second detection finds nothing, a key that
-- comes back continues its sequence) and keeps the key's ids (never names or emails) so that a delete event
-- can name what was deleted after the Moodle row is gone.
ALTER TABLE moodle_sync_entity_state ADD COLUMN IF NOT EXISTS deleted SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE moodle_sync_entity_state ADD COLUMN IF NOT EXISTS key_identity VARCHAR(512) NULL;

-- How far the fast path has read each Moodle source (log, grade history) by id, per entity.
CREATE TABLE IF NOT EXISTS moodle_sync_source_cursor (
    entity_type VARCHAR(20) NOT NULL,
    source VARCHAR(40) NOT NULL,
    last_id BIGINT NOT NULL,
    dag_run_id VARCHAR(250) NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (entity_type, source)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
