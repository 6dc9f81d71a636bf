-- Sent events older than the retention cutoff, and superseded ones (never sent: a newer event carried their
-- key) and skipped ones (never sent: the endpoint does not take them) settled before it, one id range at a time
-- (walks the primary key: no extra index).
-- The per-key state (sequence, content hash) stays: it is what keeps a purged change from being re-emitted.
DELETE FROM moodle_sync_event_log
WHERE id >= %(low)s AND id < %(high)s
  AND ((status = 'sent' AND sent_at < %(cutoff)s)
       OR (status IN ('superseded', 'skipped') AND updated_at < %(cutoff)s))
