-- Due events, in due order, walking the next_retry_at index (only deliverable rows have one). Skipped: rows
-- leased to a live worker, rows another transaction holds (SKIP LOCKED), and any key that still has an
-- earlier event waiting (per-key order: a CRM must never end on a stale state). {entity_filter} limits
-- the claim to one entity type for the entity DAGs; the retry DAG claims them all. {key_index}: an index
-- hint for the per-key check where a dialect needs one (claim_key_index.sql). A claimed event that has newer
-- events of its key waiting is then coalesced (coalesce_newer.sql, eventlog.claim_due): only the newest is sent.
SELECT e.id, e.event_id, e.event_type, e.entity_type, e.entity_key, e.sequence, e.payload, e.attempts,
       e.budget_started_at, e.deduplicated, e.next_retry_at
FROM moodle_sync_event_log e
WHERE e.next_retry_at <= %(now)s
  AND e.status IN ('pending', 'failed')
  AND (e.locked_until IS NULL OR e.locked_until < %(now)s)
  {entity_filter}
  AND NOT EXISTS (
      SELECT 1 FROM moodle_sync_event_log p {key_index}
      WHERE p.entity_type = e.entity_type AND p.entity_key = e.entity_key
        AND p.sequence < e.sequence AND p.status IN ('pending', 'failed'))
ORDER BY e.next_retry_at, e.id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
