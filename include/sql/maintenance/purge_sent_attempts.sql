-- The attempt rows of the sent (and superseded) events a retention step purges (same filter as purge_sent_events).
DELETE FROM moodle_sync_delivery_attempt
WHERE event_id IN (SELECT event_id FROM moodle_sync_event_log
                   WHERE id >= %(low)s AND id < %(high)s
                     AND (status = 'sent' AND sent_at < %(cutoff)s
                          OR status = 'superseded' AND updated_at < %(cutoff)s))
