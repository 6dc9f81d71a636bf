UPDATE moodle_sync_entity_state SET content_hash = %(new)s
WHERE entity_type = %(entity_type)s AND entity_key = %(entity_key)s AND content_hash = %(old)s
