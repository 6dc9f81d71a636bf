SELECT entity_key, sequence, content_hash FROM moodle_sync_entity_state
WHERE entity_type = %(entity)s AND entity_key IN %(keys)s
