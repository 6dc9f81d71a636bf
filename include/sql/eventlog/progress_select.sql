-- The committed chunks of an unfinished initial sync.
SELECT after_id, upto_id, started_until FROM moodle_sync_progress WHERE entity_type = %(entity)s ORDER BY after_id
