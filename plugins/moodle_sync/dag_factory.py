"""One factory builds the DAG of every entity from its ``EntitySpec``: sync, then deliver.

Nothing here touches a database, a Variable or the network at import time, and pandas is imported only
inside the tasks: the dag-processor parses this often.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from moodle_sync.alerts import SyncFailureNotifier
from moodle_sync.entities import EntitySpec

MOODLE_CONN_ID = "moodle_db"
EVENTLOG_CONN_ID = "moodle_sync_db"
WEBHOOK_CONN_ID = "moodle_sync_webhook"

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": dt.timedelta(hours=6),
    "on_failure_callback": SyncFailureNotifier(),
}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def run_sync(spec: EntitySpec, context) -> dict:
    """The sync task body: migrate the event log, pick the window, write one event per change."""
    from moodle_sync import db, eventlog
    from moodle_sync.sync import sync_entity
    from moodle_sync.window import resolve_window

    prefix = db.table_prefix(MOODLE_CONN_ID)
    store = db.connect(EVENTLOG_CONN_ID)
    moodle = db.connect(MOODLE_CONN_ID)
    try:
        eventlog.migrate(store)
        dag_run = context["dag_run"]
        params = context["params"]
        window = resolve_window(
            run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
            interval_start=context.get("data_interval_start"),
            interval_end=context.get("data_interval_end"),
            since=params.get("since"),
            until=params.get("until"),
            watermark=eventlog.get_watermark(store, spec.name),
            now=int(dt.datetime.now(dt.timezone.utc).timestamp()),
            overlap=_env_int("MOODLE_SYNC_OVERLAP_SECONDS", 300),
        )
        result = sync_entity(spec, moodle, store, window, prefix=prefix, run_id=context["run_id"],
                             chunk_rows=_env_int("MOODLE_SYNC_CHUNK_ROWS", 10_000))
        return result.as_dict()
    finally:
        moodle.close()
        store.close()


def run_delivery(spec: EntitySpec, context) -> dict:
    """The deliver task body: send every due event of this entity through the webhook connection."""
    from moodle_sync import db
    from moodle_sync.delivery import deliver_due, settings_from_connection

    settings = settings_from_connection(WEBHOOK_CONN_ID)
    ti = context["ti"]
    owner = f"{ti.dag_id}/{context['run_id']}/{ti.task_id}/{ti.try_number}"
    store = db.connect(EVENTLOG_CONN_ID)
    try:
        return deliver_due(store, spec.name, settings, owner=owner, http_conn_id=WEBHOOK_CONN_ID).as_dict()
    finally:
        store.close()


def build_entity_dag(spec: EntitySpec):
    @dag(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=CronDataIntervalTimetable(spec.schedule, timezone="UTC"),
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["moodle-sync", spec.name],
        params={
            "since": Param(None, type=["null", "string", "integer"],
                           description="Resync from this time (unix seconds or ISO 8601). Empty: since the watermark."),
            "until": Param(None, type=["null", "string", "integer"],
                           description="Resync up to this time. Empty: now."),
        },
        doc_md=f"""
### {spec.dag_id}
{spec.description}

`sync` reads the Moodle rows changed in the run's window and writes one event per real change to the event
log; `deliver` posts the due events to the backend. Manual run without params: everything since the
watermark. Params `since`/`until`: resync that window (no duplicate events). See the README.
""",
    )
    def entity_dag():
        @task(task_id="sync")
        def sync() -> dict:
            return run_sync(spec, get_current_context())

        @task(task_id="deliver")
        def deliver(summary: dict) -> dict:
            return run_delivery(spec, get_current_context())

        deliver(sync())

    return entity_dag()
