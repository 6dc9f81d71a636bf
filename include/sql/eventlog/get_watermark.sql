SELECT synced_until FROM moodle_sync_watermark WHERE entity_type = %(entity)s
