-- The last failed try of each entity (one row per entity: moodle_sync_run_failure's primary key).
SELECT entity_type, failed_at, dag_run_id, task_id, try_number, final, error FROM moodle_sync_run_failure
