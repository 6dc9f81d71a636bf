-- Events created in [since, until) per time bucket, type and current status: a range of ix_moodle_sync_status
-- (entity, status and created_at lead it; event_type rides along, no table row is read).
SELECT FLOOR(UNIX_TIMESTAMP(created_at) / %(bucket)s) * %(bucket)s AS bucket_start, event_type, status, COUNT(*)
FROM moodle_sync_event_log
WHERE entity_type IN %(entity_types)s AND status IN %(statuses)s
  AND created_at >= %(since)s AND created_at < %(until)s
GROUP BY bucket_start, event_type, status
