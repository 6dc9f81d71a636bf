-- The window's changed rows, plus the keys the fast path named (deleted, re-created, or a user whose role
-- was unassigned: Moodle writes no timestamp for that).
({changed}) OR ({candidates})
