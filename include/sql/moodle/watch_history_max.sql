-- The event trigger's poll: the grade history's last id (one read at the end of the primary key); every new
-- history row is a grade change.
SELECT MAX(h.id) AS max_id FROM {prefix}grade_grades_history h
