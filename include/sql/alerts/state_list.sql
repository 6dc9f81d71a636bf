-- The alerts of one kind ('monitor:...' or 'task:...'): a prefix match on the primary key.
SELECT alert_key, severity, summary, first_seen_at, last_sent_at, suppressed FROM moodle_sync_alert_state
WHERE alert_key LIKE %(prefix)s ORDER BY alert_key
