-- Give a claimed event back untouched (the endpoint is paused: no attempt is consumed).
UPDATE moodle_sync_event_log SET locked_by = NULL, locked_until = NULL
WHERE id = %(id)s AND locked_by = %(owner)s
