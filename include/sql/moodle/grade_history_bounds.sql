-- The grade history's last id, its first id at or after %(since)s and at or after %(until)s (indexed timemodified).
SELECT (SELECT MAX(h.id) FROM {prefix}grade_grades_history h) AS max_id,
       (SELECT MIN(h2.id) FROM {prefix}grade_grades_history h2 WHERE h2.timemodified >= %(since)s) AS first_id,
       (SELECT MIN(h3.id) FROM {prefix}grade_grades_history h3 WHERE h3.timemodified >= %(until)s) AS end_id
