-- bulk_seed(): user_graded for the grades of one id range, as their one history row (action 1) says they were
-- written: a module push or gradebook entry (acting user = usermodified), a course total (acting user -1,
-- at the regrade); nothing for a placeholder of any other item. {finalgrade_double}: the grade as PHP's float.
INSERT INTO bulk_log_staging
SELECT %(user_graded)s, 'core', 'graded', 'user', 'grade_grades', gg.id, 'u', 1, cx.id, 50, gi.courseid,
       CASE WHEN gi.itemtype IN ('course', 'category') THEN -1 ELSE COALESCE(gg.usermodified, %(admin)s) END,
       gi.courseid, gg.userid,
       CONCAT(CAST(%(lb)s AS CHAR(1)), '"itemid":"', gg.itemid, '","overridden":', CASE WHEN gg.overridden > 0 THEN 'true' ELSE 'false' END,
              ',"finalgrade":', CASE WHEN gg.finalgrade IS NULL THEN 'null'
                                     WHEN gg.finalgrade = FLOOR(gg.finalgrade) THEN CONCAT({finalgrade_double}, '.0')
                                     ELSE CONCAT({finalgrade_double}, '') END, CAST(%(rb)s AS CHAR(1))),
       COALESCE(gg.timemodified, gi.timemodified), 3
FROM {prefix}grade_grades gg JOIN {prefix}grade_items gi ON gi.id = gg.itemid
JOIN {prefix}context cx ON cx.contextlevel = 50 AND cx.instanceid = gi.courseid
WHERE gg.id >= %(low)s AND gg.id < %(high)s AND (gg.finalgrade IS NOT NULL OR gi.itemtype = 'course')
