CREATE TABLE IF NOT EXISTS moodle_sync_schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
