-- docker-compose.yaml's MariaDB runs this once, on its first start: the two databases `make demo` creates on the
-- local MariaDB (demo/settings.py names them; tests/test_compose.py keeps the names in step).
CREATE DATABASE IF NOT EXISTS moodle_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS moodle_sync_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
