"""moodle_sync_monitor (every 5 minutes): alerts on the event log's health.

The checks are in plugins/moodle_sync/ops/monitor.py, the channels in ops/alerts.py.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task

from moodle_sync import config, tasks


@dag(
    dag_id="moodle_sync_monitor",
    description="Alerts on dead events, a paused endpoint, a stalled sync and an old delivery backlog.",
    schedule=config.MONITOR_SCHEDULE.text(),
    **tasks.DAG_COMMON,
    # one quick retry: a try Airflow fails before it runs (at start-up, before the api-server answers) is no outage
    default_args={**tasks.DEFAULT_ARGS, "retries": 1, "retry_delay": dt.timedelta(seconds=30),
                  "retry_exponential_backoff": False, "execution_timeout": dt.timedelta(minutes=10)},
    tags=["moodle-sync", "alerts"],
    doc_md="""
### moodle_sync_monitor
Every 5 minutes: reads the health snapshot of the event log and alerts through the `moodle_sync_alerts`
connection(s) on dead events, a paused endpoint, a sync without success for N intervals of its schedule and
undelivered events older than a threshold. A condition is sent once, reminded every 4 hours while it holds,
and its end is announced once. Thresholds: `MOODLE_SYNC_ALERT_*` environment variables (docs/alerts.md).
""",
)
def moodle_sync_monitor():
    @task
    def check() -> dict:
        return tasks.monitor_check()

    check()


moodle_sync_monitor()
