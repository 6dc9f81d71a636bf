UPDATE moodle_sync_event_log
SET status = 'sent', attempts = attempts + 1, sent_at = %(now)s, updated_at = %(now)s, next_retry_at = NULL,
    last_http_status = %(http_status)s, last_error = NULL, locked_by = NULL, locked_until = NULL
WHERE {in_bound_list(column=id, param=ids)} AND locked_by = %(owner)s
