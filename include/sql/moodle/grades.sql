-- Current state of every grade (user x item) matching {changed}, with its item, course and user, and what
-- Moodle shows with it: the grader (who last modified the grade, and their course-level role), the course
-- context's path (the letters' lookup) and, for an assignment's grade (mod_assign, itemnumber 0), the
-- assignment's marking workflow and its latest grade row (attempt number, grading instances).
-- Every join below walks a primary or unique key or an index: no scan per row.
-- %(include_empty)s = 0 skips rows with neither a grade nor feedback (only safe when nothing was synced yet).
SELECT gg.userid, gg.itemid, gg.id AS grade_id, gg.rawgrade, gg.finalgrade,
       gg.rawgrademin, gg.rawgrademax, gg.rawscaleid, gg.feedback, gg.feedbackformat,
       gg.hidden, gg.locked, gg.overridden, gg.excluded, gg.timecreated, gg.timemodified,
       gi.itemtype AS item_type, gi.itemmodule AS item_module, gi.iteminstance, gi.itemnumber,
       gi.itemname AS item_name,
       gi.gradetype, gi.grademin AS item_grademin, gi.grademax AS item_grademax, gi.scaleid, gi.courseid,
       c.fullname AS course_name, c.shortname AS course_shortname,
       u.username AS user_username, u.email AS user_email, u.firstname AS user_firstname,
       u.lastname AS user_lastname,
       gg.usermodified AS grader_userid, gr.firstname AS grader_firstname, gr.lastname AS grader_lastname,
       cctx.path AS course_context_path,
       -- the plugin's get_grader_role_legacy(): get_user_roles(course context, grader, false), so roles at the
       -- course context only (unique index userid, contextid, roleid); 3 = internalverifier, 2 = teacher
       (SELECT MAX(CASE WHEN r.shortname = 'internalverifier' THEN 3
                        WHEN r.shortname IN ('editingteacher', 'teacher') THEN 2 ELSE 1 END)
          FROM {prefix}role_assignments ra JOIN {prefix}role r ON r.id = ra.roleid
         WHERE ra.userid = gg.usermodified AND ra.contextid = cctx.id) AS grader_role_rank,
       a.id AS assign_id, a.markingworkflow,
       ag.id AS assign_grade_id, ag.grade AS assign_grade, ag.attemptnumber,
       -- assign_user_flags has no unique (userid, assignment) key: one value through MAX (index on userid)
       (SELECT MAX(uf.workflowstate) FROM {prefix}assign_user_flags uf
         WHERE uf.userid = gg.userid AND uf.assignment = a.id) AS workflowstate,
       CASE WHEN u.id IS NULL THEN 0 ELSE 1 END AS user_exists,
       CASE WHEN gi.id IS NULL THEN 0 ELSE 1 END AS item_exists
FROM {prefix}grade_grades gg
LEFT JOIN {prefix}grade_items gi ON gi.id = gg.itemid
LEFT JOIN {prefix}course c ON c.id = gi.courseid
LEFT JOIN {prefix}user u ON u.id = gg.userid
LEFT JOIN {prefix}user gr ON gr.id = gg.usermodified
LEFT JOIN {prefix}context cctx ON cctx.contextlevel = 50 AND cctx.instanceid = gi.courseid
LEFT JOIN {prefix}assign a ON a.id = gi.iteminstance
      AND gi.itemtype = 'mod' AND gi.itemmodule = 'assign' AND gi.itemnumber = 0
-- the user's latest attempt (assign::get_user_grade($userid, false, -1): the highest attemptnumber;
-- unique index assignment, userid, attemptnumber)
LEFT JOIN {prefix}assign_grades ag ON ag.assignment = a.id AND ag.userid = gg.userid
      AND ag.attemptnumber = (SELECT MAX(ag2.attemptnumber) FROM {prefix}assign_grades ag2
                              WHERE ag2.assignment = a.id AND ag2.userid = gg.userid)
WHERE (%(include_empty)s = 1 OR gg.finalgrade IS NOT NULL OR gg.feedback IS NOT NULL)
  AND ({changed})
ORDER BY gg.id
