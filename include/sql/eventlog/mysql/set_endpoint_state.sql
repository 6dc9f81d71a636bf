INSERT INTO moodle_sync_endpoint_state (endpoint, state, reason, updated_at)
VALUES (%(endpoint)s, %(state)s, %(reason)s, %(now)s)
ON DUPLICATE KEY UPDATE state = VALUES(state), reason = VALUES(reason), updated_at = VALUES(updated_at)
