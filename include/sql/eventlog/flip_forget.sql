-- Forget the flips of keys a chunk re-read (their current flips are inserted next) or that are gone.
DELETE FROM moodle_sync_flip WHERE entity_type = %(entity)s AND {in_bound_list(column=entity_key, param=keys)}
