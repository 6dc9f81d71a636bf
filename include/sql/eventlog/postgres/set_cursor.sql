INSERT INTO moodle_sync_source_cursor (entity_type, source, last_id, seen_ids, dag_run_id, updated_at)
VALUES (%(entity)s, %(source)s, %(last_id)s, %(seen_ids)s, %(dag_run_id)s, %(now)s)
ON CONFLICT (entity_type, source) DO UPDATE SET last_id = EXCLUDED.last_id, seen_ids = EXCLUDED.seen_ids, dag_run_id = EXCLUDED.dag_run_id,
    updated_at = EXCLUDED.updated_at
