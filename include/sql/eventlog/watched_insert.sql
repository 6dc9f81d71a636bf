INSERT INTO moodle_sync_watched_state (entity_type, watched_key, watched_value) VALUES (%s, %s, %s)
