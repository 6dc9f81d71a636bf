SELECT status, COUNT(*) FROM moodle_sync_event_log WHERE dag_run_id = %(run_id)s GROUP BY status
