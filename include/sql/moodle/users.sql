-- Current state of every user but guest whose row matches {changed}.
-- role_rank: 2 = a teacher archetype somewhere, 1 = student, 0 = other (legacy `role` field).
SELECT u.id AS userid, u.username, u.email, u.firstname, u.lastname, u.phone1, u.phone2,
       u.city, u.country, u.auth, u.confirmed, u.deleted, u.suspended,
       u.timecreated, u.timemodified, COALESCE(rr.role_rank, 0) AS role_rank
FROM {prefix}user u
LEFT JOIN (
    SELECT ra.userid,
           MAX(CASE WHEN r.archetype IN ('editingteacher', 'teacher') THEN 2
                    WHEN r.archetype = 'student' THEN 1
                    ELSE 0 END) AS role_rank
    FROM {prefix}role_assignments ra
    JOIN {prefix}role r ON r.id = ra.roleid
    GROUP BY ra.userid
) rr ON rr.userid = u.id
WHERE u.username <> 'guest' AND ({changed})
ORDER BY u.id
