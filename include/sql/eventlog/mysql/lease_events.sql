UPDATE moodle_sync_event_log SET locked_by = %(owner)s, locked_until = %(lease_until)s
WHERE id IN %(ids)s
