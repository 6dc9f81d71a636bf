INSERT INTO moodle_sync_delivery_attempt
    (event_id, attempt, started_at, duration_ms, http_status, outcome, error_class, response_excerpt,
     next_retry_at, dag_run_id, task_id, action)
VALUES {values}
