-- The backend answered 2xx `deduplicated`: it remembered the key and did not apply this content. Waiting again
-- (pending, not failed), due after the backend's window; the request counts in attempts and in deduplicated,
-- and attempts - deduplicated is what the retry budget spends (delivery.policy).
UPDATE moodle_sync_event_log
SET status = 'pending', attempts = attempts + 1, deduplicated = deduplicated + 1,
    next_retry_at = %(next_retry_at)s, updated_at = %(now)s, last_http_status = %(http_status)s,
    last_error = %(error)s, locked_by = NULL, locked_until = NULL
WHERE id = %(id)s AND locked_by = %(owner)s
