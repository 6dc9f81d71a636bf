-- How far an initial sync got: one row per committed chunk, the source ids it covered (after_id, upto_id]
-- and the Moodle time the first attempt started at. A re-run after a crash or a kill resumes after the last
-- chunk of the unbroken run of committed chunks; the rows go when the sync finishes.
CREATE TABLE IF NOT EXISTS moodle_sync_progress (
    entity_type VARCHAR(20) NOT NULL,
    after_id BIGINT NOT NULL,
    upto_id BIGINT NOT NULL,
    started_until BIGINT NOT NULL,
    dag_run_id VARCHAR(250) NULL,
    PRIMARY KEY (entity_type, after_id)
);
