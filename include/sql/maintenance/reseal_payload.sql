-- One row re-encrypted under the newest key; the event id and everything else stay as they are.
UPDATE moodle_sync_event_log SET payload = %(payload)s WHERE id = %(id)s
