INSERT INTO moodle_sync_endpoint_state (endpoint, state, reason, updated_at)
VALUES (%(endpoint)s, %(state)s, %(reason)s, %(now)s)
ON CONFLICT (endpoint) DO UPDATE SET state = EXCLUDED.state, reason = EXCLUDED.reason,
    updated_at = EXCLUDED.updated_at
