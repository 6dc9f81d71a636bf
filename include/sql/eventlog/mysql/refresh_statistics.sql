-- After a sync that wrote many rows: the planner's statistics of the tables it grew (InnoDB samples a few
-- pages per index; the claim's plan depends on them).
ANALYZE TABLE moodle_sync_event_log, moodle_sync_entity_state
