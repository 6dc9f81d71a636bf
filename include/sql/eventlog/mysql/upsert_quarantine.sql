INSERT INTO moodle_sync_quarantine (entity_type, entity_key, reason, dag_run_id, first_seen_at, last_seen_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE times_seen = times_seen + 1, dag_run_id = VALUES(dag_run_id),
    last_seen_at = VALUES(last_seen_at)
