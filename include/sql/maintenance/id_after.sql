-- Where the next retention step starts: the first row after `after`, with its creation time.
SELECT id, created_at FROM moodle_sync_event_log WHERE id > %(after)s ORDER BY id LIMIT 1
