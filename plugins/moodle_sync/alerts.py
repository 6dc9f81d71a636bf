"""Failure alerts: every task of every sync DAG calls this notifier when it fails.

The message names the DAG, task, run, try number, error and log URL. This first version writes it to the
task log at ERROR (where Airflow's own log-based alerting can pick it up); channels by connection
(email, Slack, webhook) plug in here.
"""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

log = logging.getLogger("moodle_sync.alerts")


def alert_message(context) -> str:
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    try_number = getattr(ti, "try_number", "?")
    log_url = getattr(ti, "log_url", None) or "(no log url)"
    error = context.get("exception")
    return (f"moodle-zoho-sync task failed: dag={dag_id} task={task_id} run={context.get('run_id')} "
            f"try={try_number} error={type(error).__name__ if error else 'unknown'}: {error} log={log_url}")


class SyncFailureNotifier(BaseNotifier):
    """Logs a one-line alert naming the DAG, task, run, try, error and log URL."""

    template_fields = ()

    def notify(self, context) -> None:
        log.error(alert_message(context))
