-- The grade history's last id and the ids of its first rows at or after %(since)s and %(until)s (one entry of the
-- timemodified index each; a NULL bound reads nothing).
SELECT (SELECT MAX(h.id) FROM {prefix}grade_grades_history h) AS max_id,
       (SELECT h2.id FROM {prefix}grade_grades_history h2 WHERE h2.timemodified >= %(since)s
        ORDER BY h2.timemodified, h2.id LIMIT 1) AS first_id,
       (SELECT h3.id FROM {prefix}grade_grades_history h3 WHERE h3.timemodified >= %(until)s
        ORDER BY h3.timemodified, h3.id LIMIT 1) AS end_id
