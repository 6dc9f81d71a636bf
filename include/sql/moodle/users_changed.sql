-- Users touched in the window: the row itself, or a role assigned to them (role_assignments are insert-only).
(u.timemodified >= %(since)s AND u.timemodified < %(until)s)
OR u.id IN (SELECT ra2.userid FROM {prefix}role_assignments ra2
            WHERE ra2.timemodified >= %(since)s AND ra2.timemodified < %(until)s)
