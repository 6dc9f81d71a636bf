-- Same event_id, a fresh attempt budget: due now. Never a sent or superseded event (a newer one carries its key).
UPDATE moodle_sync_event_log
SET status = 'pending', attempts = 0, deduplicated = 0, next_retry_at = %(now)s, budget_started_at = %(now)s,
    locked_by = NULL, locked_until = NULL, updated_at = %(now)s
WHERE {in_bound_list(column=id, param=ids)} AND status NOT IN ('sent', 'superseded')
