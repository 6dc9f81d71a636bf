-- A chunk of an initial sync, committed with its events.
INSERT INTO moodle_sync_progress (entity_type, after_id, upto_id, started_until, dag_run_id)
VALUES (%(entity)s, %(after_id)s, %(upto_id)s, %(started_until)s, %(dag_run_id)s)
