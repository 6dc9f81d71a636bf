-- Delivery latency (created -> sent) of the events created in [since, until) and sent, as a histogram of
-- log-spaced bins (bin b holds e^(b/10) <= ms < e^((b+1)/10), about 10 % wide): percentiles come from it
-- without sorting every row. sent_at rides in ix_moodle_sync_status, so no table row is read.
SELECT entity_type,
       FLOOR(10 * LN(GREATEST(TIMESTAMPDIFF(MICROSECOND, created_at, sent_at) / 1000, 1))) AS bin,
       COUNT(*)
FROM moodle_sync_event_log
WHERE entity_type IN %(entity_types)s AND status = 'sent'
  AND created_at >= %(since)s AND created_at < %(until)s AND sent_at IS NOT NULL
GROUP BY entity_type, bin
