-- has_identity = 0: a state written before migration 004; the next full pass stores its ids.
SELECT entity_key, sequence, content_hash, deleted, CASE WHEN key_identity IS NULL THEN 0 ELSE 1 END
FROM moodle_sync_entity_state
WHERE entity_type = %(entity)s AND {in_bound_list(column=entity_key, param=keys)}
