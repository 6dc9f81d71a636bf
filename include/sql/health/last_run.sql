-- The latest finished sync run of one entity (ix_moodle_sync_run_log_entity); a backfill re-reads the past and
-- says nothing about whether the scheduled syncs are keeping up.
SELECT finished_at, dag_run_id FROM moodle_sync_run_log
WHERE entity_type = %(entity)s AND mode <> 'backfill'
ORDER BY finished_at DESC, id DESC
LIMIT 1
