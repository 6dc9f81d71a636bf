-- The oldest creation time among pending and failed events, per entity: one seek per (entity, status).
SELECT entity_type, status, MIN(created_at) FROM moodle_sync_event_log
WHERE status IN ('pending', 'failed')
GROUP BY entity_type, status
