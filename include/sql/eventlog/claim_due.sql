-- Due events of one entity type, oldest first, skipping any key that still has an earlier event
-- waiting (per-key order: a CRM must never end on a stale state) and rows leased to another worker.
SELECT e.id, e.event_id, e.event_type, e.entity_key, e.sequence, e.payload, e.attempts
FROM moodle_sync_event_log e
WHERE e.entity_type = %(entity)s
  AND e.status IN ('pending', 'failed')
  AND e.next_retry_at <= %(now)s
  AND (e.locked_until IS NULL OR e.locked_until < %(now)s)
  AND NOT EXISTS (
      SELECT 1 FROM moodle_sync_event_log p
      WHERE p.entity_type = e.entity_type AND p.entity_key = e.entity_key
        AND p.sequence < e.sequence AND p.status IN ('pending', 'failed'))
ORDER BY e.id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
