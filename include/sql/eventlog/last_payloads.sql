-- The stored payloads of the given keys' events other than deletes, oldest first (the caller keeps each key's
-- newest): where a deleted grade's names come from when Moodle no longer has them (a deleted course).
SELECT entity_key, sequence, event_id, payload FROM moodle_sync_event_log
WHERE entity_type = %(entity)s AND {keys_in} AND event_type <> %(deleted_type)s
ORDER BY entity_key, sequence
