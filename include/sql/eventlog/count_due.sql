SELECT COUNT(*) FROM moodle_sync_event_log WHERE next_retry_at <= %(now)s AND status IN ('pending', 'failed')
