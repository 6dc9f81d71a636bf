-- The watermark only moves forward, and only over a window that joins the synced range (from <= watermark):
-- a backfill or resync of a later period must not jump over a gap that no run has read yet.
INSERT INTO moodle_sync_watermark (entity_type, synced_until, dag_run_id, updated_at)
VALUES (%(entity)s, %(synced_until)s, %(dag_run_id)s, %(now)s)
ON DUPLICATE KEY UPDATE
    dag_run_id = IF(%(synced_from)s IS NULL OR %(synced_from)s <= synced_until, VALUES(dag_run_id), dag_run_id),
    updated_at = IF(%(synced_from)s IS NULL OR %(synced_from)s <= synced_until, VALUES(updated_at), updated_at),
    synced_until = IF(%(synced_from)s IS NULL OR %(synced_from)s <= synced_until,
                      GREATEST(synced_until, VALUES(synced_until)), synced_until)
