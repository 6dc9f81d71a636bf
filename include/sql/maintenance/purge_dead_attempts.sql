-- The attempt rows of the dead events an explicit purge removes.
DELETE FROM moodle_sync_delivery_attempt
WHERE event_id IN (SELECT event_id FROM moodle_sync_event_log WHERE status = 'dead' AND created_at < %(before)s)
