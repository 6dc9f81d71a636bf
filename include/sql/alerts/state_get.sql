SELECT alert_key, severity, summary, first_seen_at, last_sent_at, suppressed FROM moodle_sync_alert_state
WHERE alert_key = %(key)s
