SELECT watched_key, watched_value FROM moodle_sync_watched_state WHERE entity_type = %(entity)s
