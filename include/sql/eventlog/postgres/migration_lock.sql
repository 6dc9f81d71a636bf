SELECT pg_advisory_lock(74280001)
