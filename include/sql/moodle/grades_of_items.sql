-- The grades of the grade items whose range or scale changed (index on itemid).
SELECT gg.userid, gg.itemid FROM {prefix}grade_grades gg WHERE {in_bound_list(column=gg.itemid, param=watched_ids)}
