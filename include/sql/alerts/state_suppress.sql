UPDATE moodle_sync_alert_state SET suppressed = suppressed + 1 WHERE alert_key = %(key)s
