-- What the alerts last said, so that a condition that holds is not re-sent every run (alert storms):
-- one row per firing condition (monitor) or per failing task; removed when the condition clears.
CREATE TABLE IF NOT EXISTS moodle_sync_alert_state (
    alert_key VARCHAR(250) NOT NULL PRIMARY KEY,
    severity VARCHAR(10) NOT NULL,
    summary TEXT NOT NULL,
    first_seen_at DATETIME(6) NOT NULL,
    last_sent_at DATETIME(6) NOT NULL,
    suppressed INT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
