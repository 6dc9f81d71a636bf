INSERT INTO moodle_sync_meta (name, value, updated_at) VALUES (%(name)s, %(value)s, CURRENT_TIMESTAMP)
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
