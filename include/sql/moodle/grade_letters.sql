-- Every context's own grade letters (site letters at the system context, category and course letters):
-- a small table, read once per run and resolved per course as grade_get_letters() does (lib/gradelib.php).
SELECT gl.contextid, gl.lowerboundary, gl.letter
FROM {prefix}grade_letters gl
ORDER BY gl.contextid, gl.lowerboundary DESC
