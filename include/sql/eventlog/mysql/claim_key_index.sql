-- claim_due's per-key order check on MariaDB/MySQL: told to use the (entity_type, entity_key, sequence) key.
-- Left to itself MariaDB 10.11 picked the status index (migration 006) and scanned every pending event of
-- the entity for each candidate (70 s a batch of 1,000 with 92,000 pending; tests/test_retry.py counts it).
FORCE INDEX (uq_moodle_sync_entity_sequence)
