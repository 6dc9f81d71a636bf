"""Every connection id and setting of the project, each defined once with its default.

Settings are environment variables read when a task runs (never at DAG-parse time for anything but schedules);
a bad value stops the run with a ``ConfigError`` that names the variable and says what to set.
Connection extras are read by the module that uses the connection (``delivery.webhook``, ``ops.alerts``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigError(ValueError):
    """A setting, connection or param is wrong; the message says which and how to fix it."""


#: Airflow connection ids (README, "Connect it").
MOODLE_CONN_ID = "moodle_db"
EVENTLOG_CONN_ID = "moodle_sync_db"
WEBHOOK_CONN_ID = "moodle_sync_webhook"
ENCRYPTION_CONN_ID = "moodle_sync_encryption"
ALERTS_CONN_ID = "moodle_sync_alerts"


@dataclass(frozen=True)
class Setting:
    """One environment variable and its default."""

    env: str
    default: object
    doc: str

    def raw(self, environ=None) -> str:
        environ = os.environ if environ is None else environ
        return str(environ.get(self.env, self.default)).strip()

    def text(self, environ=None) -> str:
        return self.raw(environ)

    def integer(self, environ=None, *, minimum: int = 0) -> int:
        raw = self.raw(environ)
        try:
            value = int(raw)
        except ValueError as exc:
            raise ConfigError(f"{self.env}={raw!r} is not a whole number ({self.doc}; default {self.default})") from exc
        if value < minimum:
            raise ConfigError(f"{self.env}={raw!r} must be at least {minimum} ({self.doc})")
        return value

    def cron(self, environ=None) -> str:
        """A cron expression, checked: a typo stops the DAG file's import with the variable's name."""
        from croniter import croniter

        raw = self.raw(environ)
        if not croniter.is_valid(raw):
            raise ConfigError(f"{self.env}={raw!r} is not a cron expression ({self.doc}; default {self.default!r})")
        return raw

    def flag(self, environ=None) -> bool:
        return self.raw(environ).lower() in ("1", "true", "yes")

    def switch(self, environ=None) -> bool:
        """An on/off setting, checked: a typo such as ``ture`` stops with the variable's name, not silently off."""
        raw = self.raw(environ).lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{self.env}={raw!r} is neither true nor false ({self.doc}; default {self.default})")


# Capture (the entity DAGs and reconciliation)
CHUNK_ROWS = Setting("MOODLE_SYNC_CHUNK_ROWS", 10_000, "Moodle rows read and written per chunk")
LOCK_TIMEOUT_SECONDS = Setting("MOODLE_SYNC_LOCK_TIMEOUT_SECONDS", 3600,
                               "how long a sync waits for another sync of the same entity")
OVERLAP_SECONDS = Setting("MOODLE_SYNC_OVERLAP_SECONDS", 300, "how far a window reaches back before the watermark")
LOG_REREAD_IDS = Setting("MOODLE_SYNC_LOG_REREAD_IDS", 1000,
                         "log ids re-read below the fast path's cursor (rows committed out of id order)")
FAST_PATH_MAX_KEYS = Setting("MOODLE_SYNC_FAST_PATH_MAX_KEYS", 100_000,
                             "keys one run takes from the fast path; the rest wait for the next run")
# Schedules of the entity DAGs (cron, UTC; read when the DAG file is parsed: set them where the scheduler and the
# dag-processor run, and where the monitor and the operator's page run, which judge staleness by them)
USERS_SCHEDULE = Setting("MOODLE_SYNC_USERS_SCHEDULE", "*/15 * * * *", "schedule of moodle_sync_users")
ENROLMENTS_SCHEDULE = Setting("MOODLE_SYNC_ENROLMENTS_SCHEDULE", "*/15 * * * *", "schedule of moodle_sync_enrolments")
GRADES_SCHEDULE = Setting("MOODLE_SYNC_GRADES_SCHEDULE", "*/15 * * * *", "schedule of moodle_sync_grades")
# Event-driven syncs (read when the DAG files are parsed, like the schedules): a trigger in the triggerer polls
# Moodle's log and grade history and starts an entity's DAG when they name a change of it; the cron stays
EVENT_DRIVEN = Setting("MOODLE_SYNC_EVENT_DRIVEN", "false",
                       "start an entity DAG as soon as Moodle's log or grade history names a change of it")
EVENT_POLL_SECONDS = Setting("MOODLE_SYNC_EVENT_POLL_SECONDS", 5,
                             "seconds between two polls of Moodle's log and grade history by the event trigger")
# Schedules of the DAGs that serve every entity (cron)
RETRY_SCHEDULE = Setting("MOODLE_SYNC_RETRY_SCHEDULE", "* * * * *", "schedule of moodle_sync_retry")
RETRY_WORKER_EVENTS = Setting("MOODLE_SYNC_RETRY_WORKER_EVENTS", 20_000,
                              "due events per mapped deliver task of moodle_sync_retry (at most 16 tasks)")
MONITOR_SCHEDULE = Setting("MOODLE_SYNC_MONITOR_SCHEDULE", "*/5 * * * *", "schedule of moodle_sync_monitor")
MAINTENANCE_SCHEDULE = Setting("MOODLE_SYNC_MAINTENANCE_SCHEDULE", "30 3 * * *",
                               "schedule of moodle_sync_maintenance")
RECONCILE_SCHEDULE = Setting("MOODLE_SYNC_RECONCILE_SCHEDULE", "30 2 * * *", "schedule of moodle_sync_reconcile")
# The event log
RETENTION_DAYS = Setting("MOODLE_SYNC_RETENTION_DAYS", 30, "days a sent event is kept before maintenance purges it")
ALLOW_PLAINTEXT = Setting("MOODLE_SYNC_ALLOW_PLAINTEXT", "false",
                          "store payloads unencrypted when no encryption connection exists")
SQL_DIR = Setting("MOODLE_SYNC_SQL_DIR", "", "where include/sql lives (default: beside the plugins folder)")
# Alerts
ALERT_CONN_IDS = Setting("MOODLE_SYNC_ALERT_CONN_IDS", "", "comma-separated alert connection ids")
ALERT_TASK_REPEAT_MINUTES = Setting("MOODLE_SYNC_ALERT_TASK_REPEAT_MINUTES", "30",
                                    "minutes before the same failing task alerts again")
ALERT_DEAD_EVENTS = Setting("MOODLE_SYNC_ALERT_DEAD_EVENTS", 0, "alert when an entity has more dead events")
ALERT_STALLED_INTERVALS = Setting("MOODLE_SYNC_ALERT_STALLED_INTERVALS", 3,
                                  "alert after this many schedule intervals without a successful sync")
ALERT_BACKLOG_MINUTES = Setting("MOODLE_SYNC_ALERT_BACKLOG_MINUTES", 60,
                                "alert when the oldest undelivered event is older")
ALERT_REPEAT_MINUTES = Setting("MOODLE_SYNC_ALERT_REPEAT_MINUTES", 240, "re-send a condition that still holds")


def sync_settings() -> dict:
    """The tuning every sync task passes to ``capture.sync.sync_entity``."""
    return {
        "chunk_rows": CHUNK_ROWS.integer(minimum=1),
        "lock_timeout": LOCK_TIMEOUT_SECONDS.integer(),
        "fast_path": {"reread_ids": LOG_REREAD_IDS.integer(), "max_keys": FAST_PATH_MAX_KEYS.integer(minimum=1)},
    }
