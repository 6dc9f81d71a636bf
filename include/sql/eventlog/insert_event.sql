INSERT INTO moodle_sync_event_log
    (event_id, event_type, entity_type, entity_key, sequence, payload, status, next_retry_at,
     source_modified, dag_run_id, created_at, updated_at, budget_started_at)
VALUES {values}
