-- Marking guide fillings of the active grading instances of the given assignment grades (as rubric).
SELECT gin.itemid, c.shortname, c.description, c.descriptionformat, f.score, f.remark, f.remarkformat
FROM {prefix}grading_instances gin
JOIN {prefix}gradingform_guide_fillings f ON f.instanceid = gin.id
JOIN {prefix}gradingform_guide_criteria c ON c.id = f.criterionid
WHERE {definitions_in} AND gin.status = 1 AND {items_in}
ORDER BY gin.itemid, c.sortorder, c.id
