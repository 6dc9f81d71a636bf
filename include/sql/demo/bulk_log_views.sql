-- bulk_seed(): the n-th read event of every started, active enrolment, at a time spread between enrolling and
-- now: course_view() for odd n, an assignment's set_module_viewed() for even n (edulevel 2, crud r).
INSERT INTO bulk_log_staging
SELECT %(course_viewed)s, 'core', 'viewed', 'course', NULL, NULL, 'r', 2, cx.id, 50, e.courseid, ue.userid,
       e.courseid, NULL, 'null',
       ue.timecreated + MOD(ue.id * 7919 + %(n)s * 104729, GREATEST(1, %(now)s - 60 - ue.timecreated)), 7
FROM {prefix}user_enrolments ue JOIN {prefix}enrol e ON e.id = ue.enrolid
JOIN {prefix}context cx ON cx.contextlevel = 50 AND cx.instanceid = e.courseid
WHERE MOD(%(n)s, 2) = 1 AND ue.status = 0 AND ue.timestart < %(now)s;

INSERT INTO bulk_log_staging
SELECT %(module_viewed)s, 'mod_assign', 'viewed', 'course_module', 'assign', gi.iteminstance, 'r', 2, mx.id, 70,
       gi.iteminstance, ue.userid, e.courseid, NULL, 'null',
       ue.timecreated + MOD(ue.id * 7919 + %(n)s * 104729, GREATEST(1, %(now)s - 60 - ue.timecreated)), 7
FROM {prefix}user_enrolments ue JOIN {prefix}enrol e ON e.id = ue.enrolid
JOIN {prefix}grade_items gi ON gi.courseid = e.courseid AND gi.itemtype = 'mod' AND gi.sortorder = 3 + MOD(ue.id + %(n)s, 3)
JOIN {prefix}context mx ON mx.contextlevel = 70 AND mx.instanceid = gi.iteminstance
WHERE MOD(%(n)s, 2) = 0 AND ue.status = 0 AND ue.timestart < %(now)s
