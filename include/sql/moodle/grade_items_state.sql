-- What each grade item gives its grades' percentage and display (a small table, snapshotted each run: a range
-- or scale change rewrites every grade of the item in the CRM). Not timemodified: regrades bump it for nothing.
SELECT id, CONCAT(gradetype, ':', grademin, ':', grademax, ':', COALESCE(scaleid, 0)) FROM {prefix}grade_items
