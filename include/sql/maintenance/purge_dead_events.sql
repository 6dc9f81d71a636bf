-- Dead events stay until replayed or purged explicitly (the maintenance DAG's purge_dead_before param).
DELETE FROM moodle_sync_event_log WHERE status = 'dead' AND created_at < %(before)s
