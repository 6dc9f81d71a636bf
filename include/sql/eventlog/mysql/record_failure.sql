-- A try of an entity's DAG failed: it replaces the entity's previous failure.
INSERT INTO moodle_sync_run_failure (entity_type, dag_run_id, task_id, try_number, final, error, failed_at)
VALUES (%(entity)s, %(dag_run_id)s, %(task_id)s, %(try_number)s, %(final)s, %(error)s, %(now)s)
ON DUPLICATE KEY UPDATE dag_run_id = VALUES(dag_run_id), task_id = VALUES(task_id), try_number = VALUES(try_number),
    final = VALUES(final), error = VALUES(error), failed_at = VALUES(failed_at)
