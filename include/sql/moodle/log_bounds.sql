-- The log's last id (read up to it this run), the id of its first row at or after %(since)s (where to start when
-- there is no cursor yet, or when the log was truncated and its ids restarted) and at or after %(until)s (where a
-- backfill's time range ends). One entry of the timecreated index each; a NULL bound reads nothing.
SELECT (SELECT MAX(l.id) FROM {prefix}logstore_standard_log l) AS max_id,
       (SELECT l2.id FROM {prefix}logstore_standard_log l2 WHERE l2.timecreated >= %(since)s
        ORDER BY l2.timecreated, l2.id LIMIT 1) AS first_id,
       (SELECT l3.id FROM {prefix}logstore_standard_log l3 WHERE l3.timecreated >= %(until)s
        ORDER BY l3.timecreated, l3.id LIMIT 1) AS end_id
