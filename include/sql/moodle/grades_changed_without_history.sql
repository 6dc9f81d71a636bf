-- Fallback where grade history is disabled ($CFG->disablegradehistory): grade_grades.timemodified
-- (no index: a full scan), plus every grade of an item edited in the window.
(gg.timemodified >= %(since)s AND gg.timemodified < %(until)s)
OR gg.itemid IN (SELECT gi2.id FROM {prefix}grade_items gi2
                 WHERE gi2.timemodified >= %(since)s AND gi2.timemodified < %(until)s)
