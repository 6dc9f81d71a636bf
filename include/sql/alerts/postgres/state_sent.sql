-- An alert went out: first_seen_at stays from the first time, the suppressed count starts again.
INSERT INTO moodle_sync_alert_state (alert_key, severity, summary, first_seen_at, last_sent_at, suppressed)
VALUES (%(key)s, %(severity)s, %(summary)s, %(now)s, %(now)s, 0)
ON CONFLICT (alert_key) DO UPDATE SET severity = EXCLUDED.severity, summary = EXCLUDED.summary,
    last_sent_at = EXCLUDED.last_sent_at, suppressed = 0
