-- bulk_seed(): the gathered rows into the log in time order, ids from its sequence (as Moodle's would be).
INSERT INTO {prefix}logstore_standard_log (eventname, component, action, target, objecttable, objectid, crud,
    edulevel, contextid, contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other,
    timecreated, origin, ip, realuserid)
SELECT eventname, component, action, target, objecttable, objectid, crud, edulevel, contextid, contextlevel,
       contextinstanceid, userid, courseid, relateduserid, 0, other, timecreated, 'cli', NULL, NULL
FROM bulk_log_staging ORDER BY timecreated, seq, objectid;

DROP TABLE bulk_log_staging
