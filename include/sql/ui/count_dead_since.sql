-- How many dead events a "replay all dead since" would requeue (a range of ix_moodle_sync_status).
SELECT COUNT(*) FROM moodle_sync_event_log
WHERE {in_bound_list(column=entity_type, param=entity_types)} AND status = 'dead' AND created_at >= %(since)s
