INSERT INTO moodle_sync_source_cursor (entity_type, source, last_id, seen_ids, dag_run_id, updated_at)
VALUES (%(entity)s, %(source)s, %(last_id)s, %(seen_ids)s, %(dag_run_id)s, %(now)s)
ON DUPLICATE KEY UPDATE last_id = VALUES(last_id), seen_ids = VALUES(seen_ids), dag_run_id = VALUES(dag_run_id), updated_at = VALUES(updated_at)
