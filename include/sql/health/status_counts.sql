-- Events per entity and status: an index-only scan of ix_moodle_sync_status (no table row is read).
SELECT entity_type, status, COUNT(*) FROM moodle_sync_event_log GROUP BY entity_type, status
