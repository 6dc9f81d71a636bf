-- One page of grade history after the cursor: every insert, update and delete of a grade (lock, hide,
-- exclude and "No grade" included, which leave grade_grades.timemodified alone or NULL), with the ids of its
-- grade item (the item outlives its grades).
SELECT h.id, h.oldid, h.userid, h.itemid, h.timemodified, h.source,
       gi.courseid, gi.iteminstance, gi.itemtype, gi.itemmodule, gi.itemnumber
FROM {prefix}grade_grades_history h
LEFT JOIN {prefix}grade_items gi ON gi.id = h.itemid
WHERE h.id > %(after)s AND h.id <= %(upto)s
ORDER BY h.id
LIMIT %(limit)s
