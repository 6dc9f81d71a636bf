SELECT pg_advisory_unlock(74280001)
