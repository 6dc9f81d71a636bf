-- insert_event's rows as a tab-separated file sent by the client (db.Database.load_rows): the bulk path of
-- the chunk writers. {file} is the client-side path of the rows; character set binary: the bytes go in as
-- they are (UTF-8 text, binary payloads).
LOAD DATA LOCAL INFILE {file}
INTO TABLE moodle_sync_event_log CHARACTER SET binary
FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'
    (event_id, event_type, entity_type, entity_key, sequence, payload, status, next_retry_at,
     source_modified, dag_run_id, created_at, updated_at, budget_started_at)
