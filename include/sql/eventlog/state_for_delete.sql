SELECT entity_key, sequence, deleted, key_identity FROM moodle_sync_entity_state
WHERE entity_type = %(entity)s AND {in_bound_list(column=entity_key, param=keys)}
