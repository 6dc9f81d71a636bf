-- Which of these enrolment keys exist in Moodle now (unenrol_user hard-deletes the row).
SELECT ue.id FROM {prefix}user_enrolments ue WHERE {candidates}
