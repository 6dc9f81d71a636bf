-- The event trigger's poll: the log's last id (one read at the end of the primary key).
SELECT MAX(l.id) AS max_id FROM {prefix}logstore_standard_log l
