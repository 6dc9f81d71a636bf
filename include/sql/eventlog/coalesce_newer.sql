-- Coalescing (docs/delivery.md): the waiting events of the just-claimed events' keys that are newer than them
-- (usually none: one probe of the (entity_type, entity_key, sequence) key per claimed event). The claim holds
-- the oldest waiting event of each of these keys, so no other deliverer can claim any of them meanwhile; they
-- are locked all the same (no SKIP LOCKED: a newer event skipped here would stay waiting behind the one sent,
-- and then be sent after it). h.id is the claimed event each belongs to.
SELECT n.id, n.event_id, n.event_type, n.entity_type, n.entity_key, n.sequence, n.payload, n.attempts,
       n.budget_started_at, n.deduplicated, n.next_retry_at, h.id
FROM moodle_sync_event_log h
JOIN moodle_sync_event_log n {key_index}
  ON n.entity_type = h.entity_type AND n.entity_key = h.entity_key AND n.sequence > h.sequence
WHERE {in_bound_list(column=h.id, param=ids)} AND n.status IN ('pending', 'failed')
ORDER BY h.id, n.sequence
FOR UPDATE
