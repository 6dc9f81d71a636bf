-- Current state of every grade (user x item) matching {changed}, with its item, course and user.
-- %(include_empty)s = 0 skips rows with neither a grade nor feedback (only safe when nothing was synced yet).
SELECT gg.userid, gg.itemid, gg.id AS grade_id, gg.rawgrade, gg.finalgrade,
       gg.rawgrademin, gg.rawgrademax, gg.rawscaleid, gg.feedback,
       gg.hidden, gg.locked, gg.overridden, gg.excluded, gg.timecreated, gg.timemodified,
       gi.itemtype AS item_type, gi.itemmodule AS item_module, gi.iteminstance, gi.itemname AS item_name,
       gi.gradetype, gi.grademin AS item_grademin, gi.grademax AS item_grademax, gi.scaleid, gi.courseid,
       c.fullname AS course_name, c.shortname AS course_shortname,
       u.username AS user_username, u.email AS user_email, u.firstname AS user_firstname,
       u.lastname AS user_lastname,
       CASE WHEN u.id IS NULL THEN 0 ELSE 1 END AS user_exists,
       CASE WHEN gi.id IS NULL THEN 0 ELSE 1 END AS item_exists
FROM {prefix}grade_grades gg
LEFT JOIN {prefix}grade_items gi ON gi.id = gg.itemid
LEFT JOIN {prefix}course c ON c.id = gi.courseid
LEFT JOIN {prefix}user u ON u.id = gg.userid
WHERE (%(include_empty)s = 1 OR gg.finalgrade IS NOT NULL OR gg.feedback IS NOT NULL)
  AND ({changed})
ORDER BY gg.id
