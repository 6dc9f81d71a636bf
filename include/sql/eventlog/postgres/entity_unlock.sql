SELECT pg_advisory_unlock(74280002, hashtext(%(entity)s))
