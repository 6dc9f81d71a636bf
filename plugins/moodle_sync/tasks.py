"""The bodies of the DAGs' tasks, and what every DAG file shares (default args, common DAG settings).

The DAG files in ``dags/`` show each DAG's schedule, params, tasks and docs; each task calls one function
here, which opens its connections, does the work through the package and returns a small XCom.
Nothing here touches a database, a Variable or the network at import time, and pandas is imported only
inside the tasks: the dag-processor parses the DAG files often.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import math

from moodle_sync import config
from moodle_sync.entities import EntitySpec
from moodle_sync.ops.alerts import SyncFailureNotifier, SyncRetryNotifier

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": dt.timedelta(hours=6),
    "on_failure_callback": SyncFailureNotifier(),
    "on_retry_callback": SyncRetryNotifier(),  # the early warning: the alert waits for the last retry
}

#: Every DAG here: no catch-up of missed intervals (the watermark covers them), one run at a time.
DAG_COMMON = {"start_date": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "catchup": False, "max_active_runs": 1}

RETRY_WORKER_EVENTS = config.RETRY_WORKER_EVENTS.default  # events one mapped retry worker delivers, then ends
RETRY_MAX_WORKERS = 16


@contextlib.contextmanager
def event_log():
    """The event-log connection of a task body, its migrations applied (idempotent); closed at the end."""
    from moodle_sync.outbox import db, eventlog

    store = db.connect(config.EVENTLOG_CONN_ID)
    try:
        eventlog.migrate(store)
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def moodle_and_event_log():
    """(Moodle connection, table prefix, migrated event-log connection) of a task body; closed at the end."""
    from moodle_sync.outbox import db

    prefix = db.table_prefix(config.MOODLE_CONN_ID)
    with event_log() as store:
        moodle = db.connect(config.MOODLE_CONN_ID)
        try:
            yield moodle, prefix, store
        finally:
            moodle.close()


def stops_on_bad_input(body):
    """A bad setting or param fails the task at once, without retries (a retry cannot fix it) and without the
    traceback noise: the message says what to fix. A refused database fails the try alike, but is retried."""
    from moodle_sync.outbox.db import DatabaseUnavailable

    @functools.wraps(body)
    def run(*args, **kwargs):
        try:
            return body(*args, **kwargs)
        except config.ConfigError as exc:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from None
        except DatabaseUnavailable as exc:
            raise exc.with_traceback(None) from None  # the message names connection and server: frames add nothing

    return run


def run_params(context, *, not_in_backfill: tuple[str, ...] = ()) -> dict:
    """The run's params, once checked: a key the DAG does not declare (a typo such as ``from``) would silently be
    ignored, and ``not_in_backfill`` keys would give every backfill run the same window."""
    declared = sorted(context["dag"].params.keys())
    unknown = sorted(set(context["dag_run"].conf or {}) - set(declared))
    if unknown:
        raise config.ConfigError(f"params: unknown {', '.join(map(repr, unknown))}; {context['dag'].dag_id} accepts "
                                 f"{', '.join(map(repr, declared))}. Trigger it again with those names.")
    params = dict(context["params"])
    run_type = str(getattr(context["dag_run"].run_type, "value", context["dag_run"].run_type))
    given = [name for name in not_in_backfill if params.get(name) not in (None, "")]
    if run_type == "backfill" and given:
        raise config.ConfigError(
            f"params: a backfill run syncs its own data interval, so {' and '.join(map(repr, given))} would give "
            "every run of the backfill the same window: leave them empty, or resync a window with one manual run.")
    return params


def _now() -> int:
    return int(dt.datetime.now(dt.timezone.utc).timestamp())


@stops_on_bad_input
def sync(spec: EntitySpec, context) -> dict:
    """An entity DAG's ``sync``: pick the run's window, write one event per change to the event log."""
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import resolve_window, resync_bounds
    from moodle_sync.outbox.entity_store import EntityStore

    params = run_params(context, not_in_backfill=("since", "until"))
    resync_bounds(params.get("since"), params.get("until"), _now())  # a bad window fails before any connection
    settings = config.sync_settings()
    with moodle_and_event_log() as (moodle, prefix, store):
        dag_run = context["dag_run"]
        window = resolve_window(
            run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
            interval_start=context.get("data_interval_start"),
            interval_end=context.get("data_interval_end"),
            since=params.get("since"),
            until=params.get("until"),
            watermark=EntityStore(store, spec.name).watermark(),
            now=_now(),
            overlap=config.OVERLAP_SECONDS.integer(),
        )
        return sync_entity(spec, moodle, store, window, prefix=prefix, run_id=context["run_id"],
                           **settings).as_dict()


@stops_on_bad_input
def sync_history(spec: EntitySpec, context) -> dict:
    """A history DAG's ``sync``: its run's data interval (a day), read as a backfill run reads it; the watermark
    and the entity's last successful sync stay the scheduled syncs'."""
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import resolve_window
    from moodle_sync.outbox.entity_store import EntityStore

    run_params(context)
    settings = config.sync_settings()
    with moodle_and_event_log() as (moodle, prefix, store):
        watermark = EntityStore(store, spec.name).watermark()
        if watermark is None:  # an initial sync reads every row: that is the entity DAG's first run, not history
            raise config.ConfigError(f"{spec.name} was never synced: run {spec.dag_id} first (its first run is the "
                                     "initial full sync); a history run re-reads one past day")
        window = resolve_window(run_type="backfill", interval_start=context.get("data_interval_start"),
                                interval_end=context.get("data_interval_end"), watermark=watermark, now=_now(),
                                overlap=config.OVERLAP_SECONDS.integer())
        if window.mode != "backfill":
            raise config.ConfigError(f"a run of {context['dag'].dag_id} syncs its data interval, and this one has "
                                     "none: create a backfill (docs/backfill.md)")
        return sync_entity(spec, moodle, store, window, prefix=prefix, run_id=context["run_id"],
                           **settings).as_dict()


@stops_on_bad_input
def deliver(context, entity: str | None = None, max_events: int | None = None) -> dict:
    """A ``deliver`` task: send due events (of one entity, or all) through the webhook connection."""
    from moodle_sync.delivery.webhook import deliver_due, settings_from_connection

    settings = settings_from_connection(config.WEBHOOK_CONN_ID)
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    owner = f"{ti.dag_id}/{context['run_id']}/{ti.task_id}/{map_index}/{ti.try_number}"
    with event_log() as store:
        return deliver_due(store, settings, entity=entity, owner=owner, http_conn_id=config.WEBHOOK_CONN_ID,
                           run_id=context["run_id"], task_id=ti.task_id, max_events=max_events).as_dict()


def plan_retry_workers(due: int, per_worker: int = RETRY_WORKER_EVENTS,
                       max_workers: int = RETRY_MAX_WORKERS) -> list[dict]:
    """One mapped task per batch of due events (never per event); none when nothing is due."""
    return [{"worker": i} for i in range(min(max_workers, math.ceil(due / per_worker)))]


@stops_on_bad_input
def plan_retry() -> list[dict]:
    """moodle_sync_retry's ``plan``: how many ``deliver`` workers the due events need."""
    from moodle_sync.outbox import eventlog

    with event_log() as store:
        return plan_retry_workers(eventlog.count_due(store), per_worker=config.RETRY_WORKER_EVENTS.integer(minimum=1))


@stops_on_bad_input
def replay(context) -> dict:
    """moodle_sync_replay's ``replay``: requeue the chosen events (dry run by default)."""
    from moodle_sync.ops.replay import run_replay

    return run_replay(config.EVENTLOG_CONN_ID, config.WEBHOOK_CONN_ID, run_params(context))


@stops_on_bad_input
def monitor_check() -> dict:
    """moodle_sync_monitor's ``check``: health snapshot, conditions, alerts through the alert connections."""
    from moodle_sync.ops.alerts import load_channels
    from moodle_sync.ops.health import configured_endpoints, entity_intervals
    from moodle_sync.ops.monitor import Thresholds, run_monitor

    thresholds = Thresholds.from_env(sync_interval_seconds=entity_intervals())
    channels = load_channels()
    with event_log() as store:
        return run_monitor(store, channels, thresholds, endpoints=configured_endpoints())


@stops_on_bad_input
def maintenance(step: str, context) -> dict:
    """A moodle_sync_maintenance task: re-encrypt under the newest key, purge sent events, or purge dead ones."""
    from moodle_sync.capture.window import to_unix
    from moodle_sync.ops import maintenance as work
    from moodle_sync.outbox.crypto import cipher_from_connection

    params = run_params(context)
    with event_log() as store:
        if step == "reseal":
            return {"resealed": work.reseal_payloads(store, cipher_from_connection())}
        if step == "purge_sent":
            days = int(params.get("retention_days") or config.RETENTION_DAYS.integer(minimum=1))
            return {"purged_sent": work.purge_sent(store, older_than_days=days)}
        before = to_unix(params.get("purge_dead_before"))
        if before is None:
            return {"purged_dead": 0}
        return {"purged_dead": work.purge_dead(store, dt.datetime.fromtimestamp(before, dt.timezone.utc))}


@stops_on_bad_input
def reconcile(spec: EntitySpec, context) -> dict:
    """A ``reconcile_<entity>`` task: every live key Moodle no longer has becomes a delete, and a full pass
    re-checks every key's content hash (a change that slipped past the watermark becomes an event)."""
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import Window

    settings = config.sync_settings()
    with moodle_and_event_log() as (moodle, prefix, store):
        now = _now()
        result = sync_entity(spec, moodle, store, Window("reconcile", None, now, now), prefix=prefix,
                             run_id=context["run_id"], **settings)
    found = {"entity": spec.name, "deletes": result.deleted, "changes": result.events - result.deleted,
             "read": result.read, "quarantined": result.quarantined, "seconds": result.seconds}
    log.info("reconcile %s: %d deletes, %d changes (%d rows read)", spec.name, found["deletes"],
             found["changes"], found["read"])
    return found


def summarize_reconcile(results: list[dict]) -> dict:
    """{entity: {deletes, changes}} and a total; a healthy sync gives all zeros."""
    per_entity = {r["entity"]: {"deletes": r["deletes"], "changes": r["changes"]} for r in results}
    summary = {"entities": per_entity, "total": sum(r["deletes"] + r["changes"] for r in results)}
    for entity, counts in per_entity.items():
        log.info("reconcile found for %s: %d deletes, %d changes", entity, counts["deletes"], counts["changes"])
    if summary["total"]:
        log.warning("reconcile found %d events the incremental syncs had missed", summary["total"])
    return summary
