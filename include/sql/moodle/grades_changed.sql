-- Grades changed in the window, read from the grade history (indexed on timemodified; it also records
-- lock, hide, exclude and "No grade", which leave grade_grades.timemodified alone or NULL), plus every
-- grade of an item edited in the window (its range or type changes the percentage).
gg.id IN (SELECT h.oldid FROM {prefix}grade_grades_history h
          WHERE h.timemodified >= %(since)s AND h.timemodified < %(until)s)
OR gg.itemid IN (SELECT gi2.id FROM {prefix}grade_items gi2
                 WHERE gi2.timemodified >= %(since)s AND gi2.timemodified < %(until)s)
