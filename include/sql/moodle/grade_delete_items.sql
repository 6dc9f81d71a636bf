-- The grade items of deleted grades (the item outlives its grades; a deleted activity's item does not).
SELECT gi.id, gi.itemname, gi.itemtype, gi.itemmodule, gi.iteminstance, gi.itemnumber, gi.courseid
FROM {prefix}grade_items gi WHERE {ids_in}
