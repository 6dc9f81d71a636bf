SELECT RELEASE_LOCK('moodle_sync_migrate')
