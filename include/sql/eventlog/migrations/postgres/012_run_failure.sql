-- The last failed try of each entity's DAG (written by the retry and failure callbacks): the operator's page shows
-- it at the first failure, long before "stalled". One row per entity; the error is cleaned (no quoted values).
CREATE TABLE IF NOT EXISTS moodle_sync_run_failure (
    entity_type VARCHAR(32) NOT NULL PRIMARY KEY,
    dag_run_id VARCHAR(250) NULL,
    task_id VARCHAR(250) NOT NULL,
    try_number INTEGER NULL,
    final BOOLEAN NOT NULL,
    error TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL
);
