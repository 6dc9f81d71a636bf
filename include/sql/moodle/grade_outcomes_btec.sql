-- gradingform_btec (a third-party method, only where its tables exist): every criterion of the definition
-- in sortorder with its filling (score 0/1) when there is one, for the active instances of the given grades.
SELECT gin.itemid, c.shortname, c.description, f.score, f.remark
FROM {prefix}grading_instances gin
JOIN {prefix}gradingform_btec_criteria c ON c.definitionid = gin.definitionid
LEFT JOIN {prefix}gradingform_btec_fillings f ON f.instanceid = gin.id AND f.criterionid = c.id
WHERE {definitions_in} AND gin.status = 1 AND {items_in}
ORDER BY gin.itemid, c.sortorder, c.id
