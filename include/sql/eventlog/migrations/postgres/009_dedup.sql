-- Nothing lost to a backend's key memory (docs/delivery.md, "Coalescing" and "Deduplicated answers"): each attempt
-- keeps the backend's JSON `action` (created, updated, deleted, deduplicated, ...), and an event counts the
-- `deduplicated` answers it got: requests made, but no failure, so they do not spend the attempt budget. The new
-- status 'superseded' needs no DDL (10 characters: it fits status VARCHAR(10)). A constant default makes the ADD
-- COLUMN a catalog change (PostgreSQL >= 11): no table rewrite.
ALTER TABLE moodle_sync_delivery_attempt ADD COLUMN IF NOT EXISTS action VARCHAR(32) NULL;
ALTER TABLE moodle_sync_event_log ADD COLUMN IF NOT EXISTS deduplicated INTEGER NOT NULL DEFAULT 0;
