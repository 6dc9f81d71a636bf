-- The keys whose next time-only flip falls due in [%(since)s, %(upto)s] (index moodle_sync_flip_due).
SELECT entity_key FROM moodle_sync_flip WHERE entity_type = %(entity)s AND due_at >= %(since)s AND due_at <= %(upto)s
