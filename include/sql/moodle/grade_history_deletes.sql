-- One page of grade deletions (action 3: user deletion 'userdelete', unenrolment, course reset) after the
-- cursor, with the ids of their grade item (the item outlives its grades).
SELECT h.id, h.oldid, h.userid, h.itemid, h.timemodified, h.source,
       gi.courseid, gi.iteminstance, gi.itemtype, gi.itemmodule, gi.itemnumber
FROM {prefix}grade_grades_history h
LEFT JOIN {prefix}grade_items gi ON gi.id = h.itemid
WHERE h.id > %(after)s AND h.id <= %(upto)s AND h.action = 3
ORDER BY h.id
LIMIT %(limit)s
