-- Current state of every user enrolment matching {changed}, with its course and enrolment method.
-- LEFT JOINs keep rows whose method, course or user is missing, so validation can quarantine them.
SELECT ue.id AS enrollment_id, ue.userid, ue.enrolid, e.courseid,
       c.fullname AS course_name, c.shortname AS course_shortname,
       ue.status, e.enrol AS enrol_method, e.status AS instance_status,
       ue.timestart, ue.timeend, ue.timecreated, ue.timemodified,
       CASE WHEN u.id IS NULL THEN 0 ELSE 1 END AS user_exists
FROM {prefix}user_enrolments ue
LEFT JOIN {prefix}enrol e ON e.id = ue.enrolid
LEFT JOIN {prefix}course c ON c.id = e.courseid
LEFT JOIN {prefix}user u ON u.id = ue.userid
WHERE {changed}
ORDER BY ue.id
