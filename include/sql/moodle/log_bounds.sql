-- The log's last id (read up to it this run), its first id at or after %(since)s (indexed timecreated: where to
-- start when there is no cursor yet, or when the log was truncated and its ids restarted) and its first id at or
-- after %(until)s (where a backfill's time range ends).
SELECT (SELECT MAX(l.id) FROM {prefix}logstore_standard_log l) AS max_id,
       (SELECT MIN(l2.id) FROM {prefix}logstore_standard_log l2 WHERE l2.timecreated >= %(since)s) AS first_id,
       (SELECT MIN(l3.id) FROM {prefix}logstore_standard_log l3 WHERE l3.timecreated >= %(until)s) AS end_id
