-- When a synced enrolment's Moodle-computed "active" next flips with time alone (its timestart or timeend
-- passes: Moodle writes nothing then). A run re-reads only the keys whose flip is due (issue 12), not every row.
CREATE TABLE IF NOT EXISTS moodle_sync_flip (
    entity_type VARCHAR(32) NOT NULL,
    entity_key VARCHAR(64) NOT NULL,
    due_at BIGINT NOT NULL,
    PRIMARY KEY (entity_type, entity_key)
);
CREATE INDEX IF NOT EXISTS moodle_sync_flip_due ON moodle_sync_flip (entity_type, due_at);

-- The ids a source's last run took just below its cursor (ranges "a-b,c"): a run re-reads the ids below its
-- cursor (rows that became visible late) but takes again only those it had not seen, so a run with no change
-- re-reads no key.
ALTER TABLE moodle_sync_source_cursor ADD COLUMN IF NOT EXISTS seen_ids TEXT NULL;
