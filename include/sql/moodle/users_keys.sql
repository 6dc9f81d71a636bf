-- Which of these user keys exist in Moodle now (deleted users keep their row: Moodle soft-deletes them).
SELECT u.id FROM {prefix}user u WHERE {candidates}
