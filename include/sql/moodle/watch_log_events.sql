-- The event trigger's poll: the first log row of the entity's events among the ids new since the last poll
-- (a primary-key range of only those ids; LIMIT 1: one is enough to start a sync).
SELECT l.id
FROM {prefix}logstore_standard_log l
WHERE l.id > %(after)s AND l.id <= %(upto)s AND {in_bound_list(column=l.eventname, param=eventnames)}
ORDER BY l.id
LIMIT 1
