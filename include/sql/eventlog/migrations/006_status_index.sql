-- Health, statistics and the event browser read the log by entity, status and creation time: this index
-- answers them without touching the table (counts by status: an index-only scan; the oldest pending event:
-- one seek per entity; events per hour and type, and created->sent latency over a window: an index range).
-- Sync inserts land at its right edge ('pending', now); a send moves one entry. On an existing 5M-row log the
-- build takes about a minute (on PostgreSQL writes wait for it).
CREATE INDEX IF NOT EXISTS ix_moodle_sync_status
    ON moodle_sync_event_log (entity_type, status, created_at, event_type, sent_at);
