-- An event the endpoint does not take (its grade_items setting): final, never sent, the reason kept.
UPDATE moodle_sync_event_log
SET status = 'skipped', next_retry_at = NULL, updated_at = %(now)s, last_error = %(error)s,
    locked_by = NULL, locked_until = NULL
WHERE id = %(id)s AND locked_by = %(owner)s
