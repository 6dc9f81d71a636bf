"""moodle_sync_retry: every minute, delivers every due event (failed ones whose retry time has come).

``plan`` counts the due events and maps one ``deliver`` worker per 20,000 of them (``MOODLE_SYNC_RETRY_WORKER_EVENTS``;
at most 16). Each worker claims batches under a lease (``SELECT ... FOR UPDATE SKIP LOCKED``), so workers never share
an event and a dead worker's events come back when its lease ends.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, get_current_context, task

from moodle_sync import config, tasks


@dag(
    dag_id="moodle_sync_retry",
    description="Delivers every due event (failed ones whose next_retry_at has come), fanned out over batches.",
    schedule=config.RETRY_SCHEDULE.text(),
    **tasks.DAG_COMMON,
    default_args={**tasks.DEFAULT_ARGS, "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
    tags=["moodle-sync", "delivery"],
    doc_md="""
### moodle_sync_retry
Every minute: counts the due events and maps one `deliver` worker per 20,000 of them (at most 16; the setting
`MOODLE_SYNC_RETRY_WORKER_EVENTS`). Each
worker claims batches under a lease (`SELECT ... FOR UPDATE SKIP LOCKED`), so workers never share an event
and a dead worker's events come back when its lease ends. Backoff, dead letters and the endpoint pause
follow the `moodle_sync_webhook` connection's extras (docs/operate.md).
""",
)
def moodle_sync_retry():
    @task
    def plan() -> list[dict]:
        return tasks.plan_retry()

    @task(max_active_tis_per_dagrun=tasks.RETRY_MAX_WORKERS)
    def deliver(worker: int) -> dict:
        return tasks.deliver(get_current_context(), entity=None, max_events=config.RETRY_WORKER_EVENTS.integer(minimum=1))

    deliver.expand_kwargs(plan())


moodle_sync_retry()
