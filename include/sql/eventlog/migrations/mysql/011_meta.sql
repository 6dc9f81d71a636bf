-- Values the event log keeps about itself (docs/secrets.md, "Content hashes"): the key of the content hashes in
-- moodle_sync_entity_state, sealed like a payload, and while a log of unkeyed hashes is converted, how far it got.
-- The conversion itself runs in Python (moodle_sync.outbox.content_hash) at the first sync that holds a key.
CREATE TABLE IF NOT EXISTS moodle_sync_meta (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    value VARBINARY(512) NOT NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
