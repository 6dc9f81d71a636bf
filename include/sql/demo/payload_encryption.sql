-- The demo's summary: how many stored payloads there are, and how many are sealed under the newest key
-- (%(prefix)s is 'enc1:<key id>:%').
SELECT COUNT(*), SUM(CASE WHEN payload LIKE %(prefix)s THEN 1 ELSE 0 END) FROM moodle_sync_event_log
