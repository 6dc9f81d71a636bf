-- Rubric fillings of the active grading instances (status 1, gradingform_instance::INSTANCE_STATUS_ACTIVE) of
-- the given assignment grades (grading_instances.itemid = assign_grades.id) under the given definitions
-- (index on definitionid; itemid has none).
SELECT gin.itemid, c.sortorder, c.description, c.descriptionformat, l.score, f.remark, f.remarkformat
FROM {prefix}grading_instances gin
JOIN {prefix}gradingform_rubric_fillings f ON f.instanceid = gin.id
JOIN {prefix}gradingform_rubric_criteria c ON c.id = f.criterionid
LEFT JOIN {prefix}gradingform_rubric_levels l ON l.id = f.levelid
WHERE {definitions_in} AND gin.status = 1 AND {items_in}
ORDER BY gin.itemid, c.sortorder, c.id
