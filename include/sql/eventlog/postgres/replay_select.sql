-- Events a replay would requeue: by ids, or by status/type/entity/creation-time filters (NULL: any).
SELECT id, event_id, event_type, entity_type, entity_key, sequence, status, attempts, last_error
FROM moodle_sync_event_log
WHERE (%(any_id)s = 0 OR event_id::text = ANY(%(event_ids)s::text[]))
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s::text)
  AND (%(entity_type)s::text IS NULL OR entity_type = %(entity_type)s::text)
  AND (%(entity_key)s::text IS NULL OR entity_key = %(entity_key)s::text)
  AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s::timestamptz)
  AND status NOT IN ('sent', 'superseded')
ORDER BY id
LIMIT %(limit)s
