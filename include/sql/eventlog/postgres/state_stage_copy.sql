COPY moodle_sync_state_stage (entity_type, entity_key, sequence, content_hash, updated_at, key_identity, deleted)
FROM STDIN
