-- bulk_seed(): what Moodle logs for the rows it wrote (the fixture's rows for each event): user_create_user(),
-- enrol_user() (the enrolment, then its role), update_user_enrol() of the suspended enrolments.
-- seq orders the events of one second as Moodle does.
INSERT INTO bulk_log_staging
SELECT %(user_created)s, 'core', 'created', 'user', 'user', u.id, 'c', 0, cx.id, 30, u.id, %(admin)s, 0, u.id, 'null',
       u.timecreated, 0
FROM {prefix}user u JOIN {prefix}context cx ON cx.contextlevel = 30 AND cx.instanceid = u.id
WHERE u.id > %(admin)s;

INSERT INTO bulk_log_staging
SELECT %(ue_created)s, 'core', 'created', 'user_enrolment', 'user_enrolments', ue.id, 'c', 0, cx.id, 50, e.courseid,
       ue.modifierid, e.courseid, ue.userid, CONCAT(CAST(%(lb)s AS CHAR(1)), '"enrol":"', e.enrol, '"', CAST(%(rb)s AS CHAR(1))), ue.timecreated, 1
FROM {prefix}user_enrolments ue JOIN {prefix}enrol e ON e.id = ue.enrolid
JOIN {prefix}context cx ON cx.contextlevel = 50 AND cx.instanceid = e.courseid;

INSERT INTO bulk_log_staging
SELECT %(ue_updated)s, 'core', 'updated', 'user_enrolment', 'user_enrolments', ue.id, 'u', 0, cx.id, 50, e.courseid,
       ue.modifierid, e.courseid, ue.userid, CONCAT(CAST(%(lb)s AS CHAR(1)), '"enrol":"', e.enrol, '"', CAST(%(rb)s AS CHAR(1))), ue.timemodified, 1
FROM {prefix}user_enrolments ue JOIN {prefix}enrol e ON e.id = ue.enrolid
JOIN {prefix}context cx ON cx.contextlevel = 50 AND cx.instanceid = e.courseid
WHERE ue.timemodified > ue.timecreated;

INSERT INTO bulk_log_staging
SELECT %(role_assigned)s, 'core', 'assigned', 'role', 'role', ra.roleid, 'c', 0, ra.contextid, cx.contextlevel,
       cx.instanceid, ra.modifierid, CASE WHEN cx.contextlevel = 50 THEN cx.instanceid ELSE 0 END, ra.userid,
       CONCAT(CAST(%(lb)s AS CHAR(1)), '"id":', ra.id, ',"component":"', ra.component, '","itemid":', ra.itemid, CAST(%(rb)s AS CHAR(1))), ra.timemodified, 2
FROM {prefix}role_assignments ra JOIN {prefix}context cx ON cx.id = ra.contextid
