INSERT INTO moodle_sync_watermark (entity_type, synced_until, dag_run_id, updated_at)
VALUES (%(entity)s, %(synced_until)s, %(dag_run_id)s, %(now)s)
ON DUPLICATE KEY UPDATE synced_until = GREATEST(synced_until, VALUES(synced_until)),
    dag_run_id = VALUES(dag_run_id), updated_at = VALUES(updated_at)
