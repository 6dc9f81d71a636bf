-- Older waiting events of a key whose newest event is being sent: final, never sent, kept in the log with the
-- event that carries the key's state instead (the claim locked them; replay never requeues them).
UPDATE moodle_sync_event_log
SET status = 'superseded', next_retry_at = NULL, updated_at = %(now)s, last_error = %(reason)s,
    locked_by = NULL, locked_until = NULL
WHERE {in_bound_list(column=id, param=ids)} AND status IN ('pending', 'failed')
