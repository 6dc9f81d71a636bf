-- One page of the keys the sync believes exist, in primary-key order (reconciliation walks them page by page).
SELECT entity_key FROM moodle_sync_entity_state
WHERE entity_type = %(entity)s AND entity_key > %(after)s AND deleted = 0
ORDER BY entity_key
LIMIT %(limit)s
