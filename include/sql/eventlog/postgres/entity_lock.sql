-- One sync of an entity at a time (entity DAG, reconciliation, backfill); advisory locks are per database.
SELECT CASE WHEN pg_try_advisory_lock(74280002, hashtext(%(entity)s)) THEN 1 ELSE 0 END
