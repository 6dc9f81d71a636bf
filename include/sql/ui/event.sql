-- One event's metadata by event_id (unique index); never its payload.
SELECT id, event_id, event_type, entity_type, entity_key, sequence, status, attempts, last_http_status,
       last_error, created_at, updated_at, sent_at, next_retry_at, dag_run_id, budget_started_at, locked_by,
       locked_until
FROM moodle_sync_event_log
WHERE event_id = %(event_id)s
