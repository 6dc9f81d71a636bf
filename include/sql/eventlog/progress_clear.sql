-- Chunks from %(from_id)s on: beyond the resume point (a new attempt covers them again), or all at the end.
DELETE FROM moodle_sync_progress WHERE entity_type = %(entity)s AND after_id >= %(from_id)s
