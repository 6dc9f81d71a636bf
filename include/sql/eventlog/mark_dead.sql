UPDATE moodle_sync_event_log
SET status = 'dead', attempts = attempts + 1, next_retry_at = NULL, updated_at = %(now)s,
    last_http_status = %(http_status)s, last_error = %(error)s, locked_by = NULL, locked_until = NULL
WHERE id = %(id)s AND locked_by = %(owner)s
