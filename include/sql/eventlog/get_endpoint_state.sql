SELECT state, reason, updated_at FROM moodle_sync_endpoint_state WHERE endpoint = %(endpoint)s
