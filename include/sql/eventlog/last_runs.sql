SELECT entity_type, mode, rows_read, quarantined, unchanged, events, seconds, dag_run_id
FROM moodle_sync_run_log ORDER BY id DESC LIMIT %(limit)s
