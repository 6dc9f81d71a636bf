-- One page of key states in primary-key order after a cursor: the conversion of unkeyed content hashes.
SELECT entity_type, entity_key, content_hash FROM moodle_sync_entity_state
WHERE entity_type > %(after_type)s OR (entity_type = %(after_type)s AND entity_key > %(after_key)s)
ORDER BY entity_type, entity_key
LIMIT %(limit)s
