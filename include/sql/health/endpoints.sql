SELECT endpoint, state, reason, updated_at FROM moodle_sync_endpoint_state ORDER BY endpoint
