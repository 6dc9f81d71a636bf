INSERT INTO moodle_sync_quarantine (entity_type, entity_key, reason, dag_run_id, first_seen_at, last_seen_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (entity_type, entity_key, reason) DO UPDATE SET
    times_seen = moodle_sync_quarantine.times_seen + 1, dag_run_id = EXCLUDED.dag_run_id,
    last_seen_at = EXCLUDED.last_seen_at
