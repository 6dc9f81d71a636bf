-- Every delivery attempt of one event, in order (ix_moodle_sync_attempt_event).
SELECT attempt, started_at, duration_ms, http_status, outcome, error_class, response_excerpt, next_retry_at,
       dag_run_id, task_id, action
FROM moodle_sync_delivery_attempt
WHERE event_id = %(event_id)s
ORDER BY attempt, id
