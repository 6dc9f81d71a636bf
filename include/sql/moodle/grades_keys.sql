-- Which of these grade keys exist in Moodle now (user deletion, unenrolment and reset hard-delete the row).
SELECT gg.userid, gg.itemid FROM {prefix}grade_grades gg WHERE {candidates}
