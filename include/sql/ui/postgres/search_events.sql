-- The event browser: newest first, keyset-paged by id; a filter left NULL matches everything. Metadata
-- only: the payload (personal data) is never read.
SELECT id, event_id, event_type, entity_type, entity_key, sequence, status, attempts, last_http_status,
       LEFT(last_error, 300), created_at, updated_at, sent_at, next_retry_at, dag_run_id
FROM moodle_sync_event_log
WHERE entity_type = ANY(%(entity_types)s)
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s::text)
  AND (%(entity_key)s::text IS NULL OR entity_key = %(entity_key)s::text)
  AND (%(before_id)s::bigint IS NULL OR id < %(before_id)s::bigint)
ORDER BY id DESC
LIMIT %(limit)s
