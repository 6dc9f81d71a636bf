-- Assignments graded with an advanced grading method (rubric, marking guide, gradingform_btec): the
-- definition of the active method of each assignment's 'submissions' area (gradingform_controller). Small:
-- one row per assignment that uses advanced grading; read once per run.
SELECT cm.instance AS assign_id, gd.id AS definitionid, gd.method
FROM {prefix}grading_areas ga
JOIN {prefix}grading_definitions gd ON gd.areaid = ga.id AND gd.method = ga.activemethod
JOIN {prefix}context ctx ON ctx.id = ga.contextid AND ctx.contextlevel = 70
JOIN {prefix}course_modules cm ON cm.id = ctx.instanceid
JOIN {prefix}modules m ON m.id = cm.module AND m.name = 'assign'
WHERE ga.component = 'mod_assign' AND ga.areaname = 'submissions' AND gd.method IN ('rubric', 'guide', 'btec')
