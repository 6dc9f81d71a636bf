-- The watermark only moves forward, and only over a window that joins the synced range (from <= watermark):
-- a backfill or resync of a later period must not jump over a gap that no run has read yet.
INSERT INTO moodle_sync_watermark AS w (entity_type, synced_until, dag_run_id, updated_at)
VALUES (%(entity)s, %(synced_until)s, %(dag_run_id)s, %(now)s)
ON CONFLICT (entity_type) DO UPDATE SET
    synced_until = GREATEST(w.synced_until, EXCLUDED.synced_until),
    dag_run_id = EXCLUDED.dag_run_id, updated_at = EXCLUDED.updated_at
WHERE %(synced_from)s::bigint IS NULL OR %(synced_from)s::bigint <= w.synced_until
