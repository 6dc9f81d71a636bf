-- Oldest undelivered event per entity: pending and failed rows are exactly those with a next_retry_at,
-- so the walk stays on ix_moodle_sync_next_retry.
SELECT entity_type, MIN(created_at) FROM moodle_sync_event_log
WHERE next_retry_at IS NOT NULL AND status IN ('pending', 'failed') GROUP BY entity_type
