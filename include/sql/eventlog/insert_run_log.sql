INSERT INTO moodle_sync_run_log (entity_type, dag_run_id, mode, window_since, window_until, rows_read, quarantined,
    unchanged, events, seconds, finished_at)
VALUES (%(entity)s, %(dag_run_id)s, %(mode)s, %(since)s, %(until)s, %(read)s, %(quarantined)s, %(unchanged)s,
    %(events)s, %(seconds)s, %(now)s)
