-- Events a replay would requeue: by ids, or by status/type/entity/creation-time filters (NULL: any).
SELECT id, event_id, event_type, entity_type, entity_key, sequence, status, attempts, last_error
FROM moodle_sync_event_log
WHERE (%(any_id)s = 0 OR event_id IN %(event_ids)s)
  AND (%(status)s IS NULL OR status = %(status)s)
  AND (%(event_type)s IS NULL OR event_type = %(event_type)s)
  AND (%(entity_type)s IS NULL OR entity_type = %(entity_type)s)
  AND (%(entity_key)s IS NULL OR entity_key = %(entity_key)s)
  AND (%(since)s IS NULL OR created_at >= %(since)s)
  AND status NOT IN ('sent', 'superseded')
ORDER BY id
LIMIT %(limit)s
