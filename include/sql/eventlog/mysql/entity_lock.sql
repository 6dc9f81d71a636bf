-- One sync of an entity at a time (entity DAG, reconciliation, backfill): lock names are server-wide in MySQL,
-- so the name carries the event-log database. Waits up to a second; 1 = acquired.
SELECT GET_LOCK(CONCAT('msync:', LEFT(SHA1(DATABASE()), 16), ':', %(entity)s), 1)
