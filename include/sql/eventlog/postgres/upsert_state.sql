INSERT INTO moodle_sync_entity_state (entity_type, entity_key, sequence, content_hash, updated_at, key_identity,
    deleted)
VALUES {values}
ON CONFLICT (entity_type, entity_key) DO UPDATE SET sequence = EXCLUDED.sequence,
    content_hash = EXCLUDED.content_hash, updated_at = EXCLUDED.updated_at,
    key_identity = COALESCE(EXCLUDED.key_identity, moodle_sync_entity_state.key_identity),
    deleted = EXCLUDED.deleted
