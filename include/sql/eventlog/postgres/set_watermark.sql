INSERT INTO moodle_sync_watermark (entity_type, synced_until, dag_run_id, updated_at)
VALUES (%(entity)s, %(synced_until)s, %(dag_run_id)s, %(now)s)
ON CONFLICT (entity_type) DO UPDATE SET
    synced_until = GREATEST(moodle_sync_watermark.synced_until, EXCLUDED.synced_until),
    dag_run_id = EXCLUDED.dag_run_id, updated_at = EXCLUDED.updated_at
