DELETE FROM moodle_sync_alert_state WHERE alert_key = %(key)s
