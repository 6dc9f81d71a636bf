-- The next rows, by id, whose payload is not sealed under the newest key (plain JSON or an older key).
SELECT id, event_id, payload
FROM moodle_sync_event_log
WHERE id > %(after)s AND payload NOT LIKE %(current_prefix)s
ORDER BY id
LIMIT %(limit)s
