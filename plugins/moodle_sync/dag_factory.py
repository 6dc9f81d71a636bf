"""One factory builds the DAG of every entity from its ``EntitySpec`` (sync, then deliver), and the DAGs that
serve them all: retry, replay and reconcile.

Nothing here touches a database, a Variable or the network at import time, and pandas is imported only
inside the tasks: the dag-processor parses this often.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
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


#: Every DAG here: no catch-up of missed intervals (the watermark covers them), one run at a time.
DAG_COMMON = {"start_date": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "catchup": False, "max_active_runs": 1}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _sync_settings() -> dict:
    """Tuning shared by every sync task (environment variables, README 'Connect it')."""
    return {
        "chunk_rows": _env_int("MOODLE_SYNC_CHUNK_ROWS", 10_000),
        "lock_timeout": _env_int("MOODLE_SYNC_LOCK_TIMEOUT_SECONDS", 3600),
        "fast_path": {"reread_ids": _env_int("MOODLE_SYNC_LOG_REREAD_IDS", 1000),
                      "max_keys": _env_int("MOODLE_SYNC_FAST_PATH_MAX_KEYS", 100_000)},
    }


@contextlib.contextmanager
def event_log():
    """The event-log connection of a task body, its migrations applied (idempotent); closed at the end."""
    from moodle_sync import db, eventlog

    store = db.connect(EVENTLOG_CONN_ID)
    try:
        eventlog.migrate(store)
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def moodle_and_event_log():
    """(Moodle connection, table prefix, migrated event-log connection) of a task body; closed at the end."""
    from moodle_sync import db

    prefix = db.table_prefix(MOODLE_CONN_ID)
    with event_log() as store:
        moodle = db.connect(MOODLE_CONN_ID)
        try:
            yield moodle, prefix, store
        finally:
            moodle.close()


def run_sync(spec: EntitySpec, context) -> dict:
    """The sync task body: migrate the event log, pick the window, write one event per change."""
    from moodle_sync import eventlog
    from moodle_sync.sync import sync_entity
    from moodle_sync.window import resolve_window

    with moodle_and_event_log() as (moodle, prefix, store):
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
                             **_sync_settings())
        return result.as_dict()


def run_delivery(context, entity: str | None = None, max_events: int | None = None) -> dict:
    """A deliver task body: send due events (of one entity, or all) through the webhook connection."""
    from moodle_sync.delivery import deliver_due, settings_from_connection

    settings = settings_from_connection(WEBHOOK_CONN_ID)
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    owner = f"{ti.dag_id}/{context['run_id']}/{ti.task_id}/{map_index}/{ti.try_number}"
    with event_log() as store:
        return deliver_due(store, settings, entity=entity, owner=owner, http_conn_id=WEBHOOK_CONN_ID,
                           run_id=context["run_id"], task_id=ti.task_id, max_events=max_events).as_dict()


def build_entity_dag(spec: EntitySpec):
    @dag(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=CronDataIntervalTimetable(spec.schedule, timezone="UTC"),
        **DAG_COMMON,
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
            return run_delivery(get_current_context(), entity=spec.name)

        deliver(sync())

    return entity_dag()


RETRY_WORKER_EVENTS = 20_000  # events one mapped retry worker delivers before it ends
RETRY_MAX_WORKERS = 16


def plan_retry_workers(due: int, per_worker: int = RETRY_WORKER_EVENTS, max_workers: int = RETRY_MAX_WORKERS) -> list[dict]:
    """One mapped task per batch of due events (never per event); none when nothing is due."""
    return [{"worker": i} for i in range(min(max_workers, math.ceil(due / per_worker)))]


def build_retry_dag():
    @dag(
        dag_id="moodle_sync_retry",
        description="Delivers every due event (failed ones whose next_retry_at has come), fanned out over batches.",
        schedule=os.environ.get("MOODLE_SYNC_RETRY_SCHEDULE", "* * * * *"),
        **DAG_COMMON,
        default_args={**DEFAULT_ARGS, "retries": 1, "retry_delay": dt.timedelta(seconds=30)},
        tags=["moodle-sync", "delivery"],
        doc_md="""
### moodle_sync_retry
Every minute: counts the due events and maps one `deliver` worker per 20,000 of them (at most 16). Each
worker claims batches under a lease (`SELECT ... FOR UPDATE SKIP LOCKED`), so workers never share an event
and a dead worker's events come back when its lease ends. Backoff, dead letters and the endpoint pause
follow the `moodle_sync_webhook` connection's extras (README).
""",
    )
    def retry_dag():
        @task(task_id="plan")
        def plan() -> list[dict]:
            from moodle_sync import eventlog

            with event_log() as store:
                return plan_retry_workers(eventlog.count_due(store))

        @task(task_id="deliver", max_active_tis_per_dagrun=RETRY_MAX_WORKERS)
        def deliver(worker: int) -> dict:
            return run_delivery(get_current_context(), entity=None, max_events=RETRY_WORKER_EVENTS)

        deliver.expand_kwargs(plan())

    return retry_dag()


def build_replay_dag():
    @dag(
        dag_id="moodle_sync_replay",
        description="Requeues dead (or any unsent) events with the same event_id and a fresh attempt budget.",
        schedule=None,
        **DAG_COMMON,
        default_args=DEFAULT_ARGS,
        tags=["moodle-sync", "delivery"],
        params={
            "event_ids": Param([], type="array", description="Replay exactly these event ids (other filters ignored)."),
            "status": Param("dead", type=["null", "string"], enum=[None, "dead", "failed", "pending"],
                            description="Only events in this status (default: dead letters)."),
            "event_type": Param(None, type=["null", "string"], description="e.g. grade.updated"),
            "entity_type": Param(None, type=["null", "string"], enum=[None, "user", "enrolment", "grade"]),
            "entity_key": Param(None, type=["null", "string"], description="e.g. 42 or 107:29 (user:item)"),
            "since": Param(None, type=["null", "string"], description="Only events created since (ISO 8601)."),
            "dry_run": Param(True, type="boolean", description="Only show what would be requeued."),
            "resume_endpoint": Param(False, type="boolean", description="Un-pause an endpoint paused after 410."),
        },
        doc_md="""
### moodle_sync_replay
Dry run by default: the task log lists what would be requeued. Set `dry_run` to false to requeue: status
`pending`, due now, attempts and retry window reset, **same event_id** (receivers dedupe on it).
`resume_endpoint` clears the pause set after a 410 answer.
""",
    )
    def replay_dag():
        @task(task_id="replay")
        def replay() -> dict:
            from moodle_sync.replay import run_replay

            return run_replay(EVENTLOG_CONN_ID, WEBHOOK_CONN_ID, get_current_context()["params"])

        replay()

    return replay_dag()


def run_monitor_check(context) -> dict:
    """The monitor task body: health snapshot, conditions, alerts through the alert connections."""
    from moodle_sync.alerts import load_channels
    from moodle_sync.monitor import Thresholds, entity_intervals, run_monitor

    thresholds = Thresholds.from_env(sync_interval_seconds=entity_intervals())
    channels = load_channels()
    with event_log() as store:
        return run_monitor(store, channels, thresholds)


def build_monitor_dag():
    @dag(
        dag_id="moodle_sync_monitor",
        description="Alerts on dead events, a paused endpoint, a stalled sync and an old delivery backlog.",
        schedule=os.environ.get("MOODLE_SYNC_MONITOR_SCHEDULE", "*/5 * * * *"),
        **DAG_COMMON,
        default_args={**DEFAULT_ARGS, "retries": 0, "execution_timeout": dt.timedelta(minutes=10)},
        tags=["moodle-sync", "alerts"],
        doc_md="""
### moodle_sync_monitor
Every 5 minutes: reads the health snapshot of the event log and alerts through the `moodle_sync_alerts`
connection(s) on dead events, a paused endpoint, a sync without success for N intervals of its schedule and
undelivered events older than a threshold. A condition is sent once, reminded every 4 hours while it holds,
and its end is announced once. Thresholds: `MOODLE_SYNC_ALERT_*` environment variables (README, "Alerts").
""",
    )
    def monitor_dag():
        @task(task_id="check")
        def check() -> dict:
            return run_monitor_check(get_current_context())

        check()

    return monitor_dag()


def run_maintenance(step: str, params: dict) -> dict:
    """A maintenance task body: re-encrypt under the newest key, purge sent events, or purge dead ones."""
    from moodle_sync import maintenance
    from moodle_sync.crypto import cipher_from_connection
    from moodle_sync.window import to_unix

    with event_log() as store:
        if step == "reseal":
            return {"resealed": maintenance.reseal_payloads(store, cipher_from_connection())}
        if step == "purge_sent":
            days = int(params.get("retention_days") or _env_int("MOODLE_SYNC_RETENTION_DAYS",
                                                                maintenance.DEFAULT_RETENTION_DAYS))
            return {"purged_sent": maintenance.purge_sent(store, older_than_days=days)}
        before = to_unix(params.get("purge_dead_before"))
        if before is None:
            return {"purged_dead": 0}
        return {"purged_dead": maintenance.purge_dead(store, dt.datetime.fromtimestamp(before, dt.timezone.utc))}


def build_maintenance_dag():
    @dag(
        dag_id="moodle_sync_maintenance",
        description="Re-encrypts payloads under the newest key and purges sent events past the retention period.",
        schedule=os.environ.get("MOODLE_SYNC_MAINTENANCE_SCHEDULE", "30 3 * * *"),
        **DAG_COMMON,
        default_args=DEFAULT_ARGS,
        tags=["moodle-sync", "maintenance"],
        params={
            "retention_days": Param(None, type=["null", "integer"], minimum=1,
                                    description="Purge sent events older than this (default: "
                                                "MOODLE_SYNC_RETENTION_DAYS or 30)."),
            "purge_dead_before": Param(None, type=["null", "string", "integer"],
                                       description="Also purge dead events created before this time (ISO 8601 "
                                                   "or unix seconds). Empty: dead events stay."),
        },
        doc_md="""
### moodle_sync_maintenance
Daily. `reseal` re-encrypts every payload not sealed under the newest key of `moodle_sync_encryption`
(after a rotation, or once keys exist where payloads were stored in plain text); `purge_sent` deletes sent
events older than the retention period (and their attempt rows); `purge_dead` deletes dead events only when
the `purge_dead_before` param is set on a manual run. Per-key state is never purged.
""",
    )
    def maintenance_dag():
        @task(task_id="reseal")
        def reseal() -> dict:
            return run_maintenance("reseal", get_current_context()["params"])

        @task(task_id="purge_sent")
        def purge_sent() -> dict:
            return run_maintenance("purge_sent", get_current_context()["params"])

        @task(task_id="purge_dead")
        def purge_dead() -> dict:
            return run_maintenance("purge_dead", get_current_context()["params"])

        reseal() >> purge_sent() >> purge_dead()

    return maintenance_dag()


def run_reconcile(spec: EntitySpec, context) -> dict:
    """A reconcile task body: every live key Moodle no longer has becomes a delete, and a full pass re-checks
    every key's content hash (a change that slipped past the watermark becomes an event). Small XCom."""
    import logging

    from moodle_sync.sync import sync_entity
    from moodle_sync.window import Window

    with moodle_and_event_log() as (moodle, prefix, store):
        now = int(dt.datetime.now(dt.timezone.utc).timestamp())
        result = sync_entity(spec, moodle, store, Window("reconcile", None, now, now), prefix=prefix,
                             run_id=context["run_id"], **_sync_settings())
    found = {"entity": spec.name, "deletes": result.deleted, "changes": result.events - result.deleted,
             "read": result.read, "quarantined": result.quarantined, "seconds": result.seconds}
    logging.getLogger(__name__).info("reconcile %s: %d deletes, %d changes (%d rows read)", spec.name,
                                     found["deletes"], found["changes"], found["read"])
    return found


def summarize_reconcile(results: list[dict]) -> dict:
    """{entity: {deletes, changes}} and a total; a healthy sync gives all zeros."""
    per_entity = {r["entity"]: {"deletes": r["deletes"], "changes": r["changes"]} for r in results}
    return {"entities": per_entity, "total": sum(r["deletes"] + r["changes"] for r in results)}


def _reconcile_task(spec: EntitySpec):
    @task(task_id=f"reconcile_{spec.name}")
    def reconcile() -> dict:
        return run_reconcile(spec, get_current_context())

    return reconcile


def build_reconcile_dag(specs: tuple[EntitySpec, ...]):
    import logging

    @dag(
        dag_id="moodle_sync_reconcile",
        description="Safety net: deletes and changes the incremental syncs missed, found by comparing Moodle "
                    "with the sync's state.",
        schedule=os.environ.get("MOODLE_SYNC_RECONCILE_SCHEDULE", "30 2 * * *"),
        **DAG_COMMON,
        default_args=DEFAULT_ARGS,
        tags=["moodle-sync", "reconcile"],
        doc_md="""
### moodle_sync_reconcile
Daily (`MOODLE_SYNC_RECONCILE_SCHEDULE`). Per entity: every key the sync believes exists is checked against
Moodle in pages (bounded memory); each one Moodle no longer has becomes its delete event. Then a full pass
re-hashes every row, so a change no timestamp showed (a grade locked, a role unassigned) becomes an event.
`report` logs and returns the counts per entity; on a healthy sync they are all 0. Each entity waits for its
own sync DAG's running task (one sync of an entity at a time). `deliver` sends what was found.
""",
    )
    def reconcile_dag():
        found = [_reconcile_task(spec)() for spec in specs]

        @task(task_id="report")
        def report(results: list[dict]) -> dict:
            summary = summarize_reconcile(results)
            log = logging.getLogger(__name__)
            for entity, counts in summary["entities"].items():
                log.info("reconcile found for %s: %d deletes, %d changes", entity, counts["deletes"],
                         counts["changes"])
            if summary["total"]:
                log.warning("reconcile found %d events the incremental syncs had missed", summary["total"])
            return summary

        @task(task_id="deliver")
        def deliver(summary: dict) -> dict:
            return run_delivery(get_current_context(), entity=None)

        deliver(report(found))

    return reconcile_dag()
