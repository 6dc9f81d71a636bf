INSERT INTO moodle_sync_flip (entity_type, entity_key, due_at) VALUES (%s, %s, %s)
