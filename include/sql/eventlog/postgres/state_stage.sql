-- Per-session staging for state rows: COPY in, then one set-based upsert (psycopg would otherwise send the
-- upserts one by one). Emptied at every commit.
CREATE TEMP TABLE IF NOT EXISTS moodle_sync_state_stage (
    entity_type VARCHAR(20) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    sequence INTEGER NOT NULL,
    content_hash CHAR(32) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    key_identity VARCHAR(512) NULL,
    deleted SMALLINT NOT NULL
) ON COMMIT DELETE ROWS
