-- 1 when the demo Moodle's user table exists in the connected database (demo_moodle.has_site).
SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %(name)s
