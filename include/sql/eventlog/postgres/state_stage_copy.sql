-- Binary COPY: the column types are named in moodle_sync.eventlog (*_COPY_TYPES), in this order.
COPY moodle_sync_state_stage (entity_type, entity_key, sequence, content_hash, updated_at, key_identity, deleted)
FROM STDIN (FORMAT BINARY)
