-- The grade history's last id and its first id at or after %(since)s (indexed timemodified).
SELECT (SELECT MAX(h.id) FROM {prefix}grade_grades_history h) AS max_id,
       (SELECT MIN(h2.id) FROM {prefix}grade_grades_history h2 WHERE h2.timemodified >= %(since)s) AS first_id
