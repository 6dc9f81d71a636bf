SELECT GET_LOCK('moodle_sync_migrate', 120)
