INSERT INTO moodle_sync_meta (name, value, updated_at) VALUES (%(name)s, %(value)s, CURRENT_TIMESTAMP(6))
ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)
