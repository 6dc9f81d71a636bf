DELETE FROM moodle_sync_watched_state WHERE entity_type = %(entity)s
