INSERT INTO moodle_sync_schema_migrations (version, name) VALUES (%(version)s, %(name)s)
