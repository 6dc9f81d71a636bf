-- The latest finished sync run of one entity (ix_moodle_sync_run_log_entity).
SELECT finished_at, dag_run_id FROM moodle_sync_run_log
WHERE entity_type = %(entity)s
ORDER BY finished_at DESC, id DESC
LIMIT 1
