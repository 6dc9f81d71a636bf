-- A try of an entity's DAG failed: it replaces the entity's previous failure.
INSERT INTO moodle_sync_run_failure (entity_type, dag_run_id, task_id, try_number, final, error, failed_at)
VALUES (%(entity)s, %(dag_run_id)s, %(task_id)s, %(try_number)s, %(final)s, %(error)s, %(now)s)
ON CONFLICT (entity_type) DO UPDATE SET dag_run_id = EXCLUDED.dag_run_id, task_id = EXCLUDED.task_id,
    try_number = EXCLUDED.try_number, final = EXCLUDED.final, error = EXCLUDED.error, failed_at = EXCLUDED.failed_at
