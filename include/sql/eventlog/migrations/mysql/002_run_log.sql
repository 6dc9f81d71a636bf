-- One row per finished sync run: what it read and emitted (the demo summary and health checks read it).
CREATE TABLE IF NOT EXISTS moodle_sync_run_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    entity_type VARCHAR(20) NOT NULL,
    dag_run_id VARCHAR(250) NULL,
    mode VARCHAR(16) NOT NULL,
    window_since BIGINT NULL,
    window_until BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    events BIGINT NOT NULL,
    seconds DOUBLE NOT NULL,
    finished_at DATETIME(6) NOT NULL,
    KEY ix_moodle_sync_run_log_entity (entity_type, finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
