-- Binary COPY: the column types are named in moodle_sync.eventlog (*_COPY_TYPES), in this order.
COPY moodle_sync_event_log
    (event_id, event_type, entity_type, entity_key, sequence, payload, status, next_retry_at,
     source_modified, dag_run_id, created_at, updated_at, budget_started_at)
FROM STDIN (FORMAT BINARY)
