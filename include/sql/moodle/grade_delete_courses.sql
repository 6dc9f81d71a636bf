-- Names of the courses of deleted grades (a grade's deletion leaves its course).
SELECT c.id, c.fullname, c.shortname FROM {prefix}course c WHERE {ids_in}
