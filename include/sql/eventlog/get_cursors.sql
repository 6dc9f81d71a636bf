SELECT source, last_id, seen_ids FROM moodle_sync_source_cursor WHERE entity_type = %(entity)s
