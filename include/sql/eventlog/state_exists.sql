SELECT 1 FROM moodle_sync_entity_state WHERE entity_type = %(entity)s LIMIT 1
