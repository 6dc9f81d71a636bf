INSERT INTO moodle_sync_entity_state (entity_type, entity_key, sequence, content_hash, updated_at, key_identity,
    deleted)
VALUES {values}
ON DUPLICATE KEY UPDATE sequence = VALUES(sequence), content_hash = VALUES(content_hash),
    updated_at = VALUES(updated_at), key_identity = COALESCE(VALUES(key_identity), key_identity),
    deleted = VALUES(deleted)
