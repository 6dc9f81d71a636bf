-- upsert_state's rows for keys that have no state yet (an initial sync), as a tab-separated file sent by the
-- client (db.Database.load_rows): a key that does have one is a duplicate, which fails the load.
LOAD DATA LOCAL INFILE {file}
INTO TABLE moodle_sync_entity_state CHARACTER SET binary
FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'
    (entity_type, entity_key, sequence, content_hash, updated_at, key_identity, deleted)
