-- Events by entity and status.
SELECT entity_type, status, COUNT(*) FROM moodle_sync_event_log GROUP BY entity_type, status
