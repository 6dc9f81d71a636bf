SELECT source, last_id FROM moodle_sync_source_cursor WHERE entity_type = %(entity)s
