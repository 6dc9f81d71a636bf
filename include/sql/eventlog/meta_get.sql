SELECT value FROM moodle_sync_meta WHERE name = %(name)s
