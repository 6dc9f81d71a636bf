-- The event browser: newest first, keyset-paged by id; a filter left NULL matches everything. Metadata
-- only: the payload (personal data) is never read.
SELECT id, event_id, event_type, entity_type, entity_key, sequence, status, attempts, last_http_status,
       LEFT(last_error, 300), created_at, updated_at, sent_at, next_retry_at, dag_run_id
FROM moodle_sync_event_log
WHERE entity_type IN %(entity_types)s
  AND (%(status)s IS NULL OR status = %(status)s)
  AND (%(event_type)s IS NULL OR event_type = %(event_type)s)
  AND (%(entity_key)s IS NULL OR entity_key = %(entity_key)s)
  AND (%(before_id)s IS NULL OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s
