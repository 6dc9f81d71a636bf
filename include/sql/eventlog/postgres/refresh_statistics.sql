-- After a sync that wrote many rows: the planner's statistics of the tables it grew. Until autovacuum gets
-- to them, PostgreSQL plans the claim as if the pending rows were a handful: it read every pending event,
-- sorted them and kept 500 (40,000 rows read for a 20,000-event backlog), instead of walking the
-- next_retry_at index (about 1,000).
ANALYZE moodle_sync_event_log, moodle_sync_entity_state
