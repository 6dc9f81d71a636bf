-- One page of log rows of the given events after the cursor (primary-key range, then the event filter).
SELECT l.id, l.eventname, l.objectid, l.relateduserid, l.courseid, l.other, l.timecreated
FROM {prefix}logstore_standard_log l
WHERE l.id > %(after)s AND l.id <= %(upto)s AND {in_bound_list(column=l.eventname, param=eventnames)}
ORDER BY l.id
LIMIT %(limit)s
