-- 1 when the demo Moodle's user table is on the search path (demo_moodle.has_site).
SELECT COUNT(*) FROM pg_catalog.pg_class WHERE oid = to_regclass(%(name)s)
