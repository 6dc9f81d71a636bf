"""One snapshot of the sync's health, as plain JSON-able data: the operator's page, its JSON endpoint for
external monitors and the alerting DAG all read this, so they never disagree.

The contract (keys, meanings, status rules) is fixed: see docs/operator-page.md. Every query walks an
index (``ix_moodle_sync_status``, the run-log and watermark keys), so a snapshot stays cheap on a log of
millions of events.
"""

from __future__ import annotations

import datetime as dt

from moodle_sync.config import ALERT_STALLED_INTERVALS, ConfigError
from moodle_sync.outbox.db import Database
from moodle_sync.entities import ENTITIES

AREA = "health"
#: final, never sent: superseded (an older change of a key replaced by its newest at delivery, docs/delivery.md);
#: skipped (the endpoint does not take it: its grade_items, docs/payloads.md)
STATUSES = ("pending", "failed", "dead", "sent", "superseded", "skipped")
#: a sync whose last success is older than this many intervals makes the status "degraded"
STALE_INTERVALS = ALERT_STALLED_INTERVALS.default  # the page and the monitor call a sync stalled alike


def schedule_interval_seconds(cron: str, samples: int = 200) -> int:
    """The longest gap between two runs of a cron schedule (over its next ``samples`` runs)."""
    from croniter import croniter

    it = croniter(cron, dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))  # a Monday: week-long patterns show
    times = [it.get_next(float) for _ in range(samples + 1)]
    return int(max(b - a for a, b in zip(times, times[1:])))


def entity_intervals() -> dict[str, int]:
    """Each entity's longest gap between scheduled syncs: the unit of "stalled" on the page and in alerts."""
    return {spec.name: schedule_interval_seconds(spec.schedule) for spec in ENTITIES}


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Timestamps from the log as aware UTC (MySQL DATETIME columns are naive UTC here)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def iso_utc(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def configured_endpoints() -> set[str] | None:
    """The endpoint the webhook connection names now; None when it cannot be read (then every endpoint shows)."""
    from moodle_sync.delivery.webhook import settings_from_connection

    try:
        return {settings_from_connection().endpoint_id}
    except ConfigError:
        return None


def snapshot(store: Database, *, now: dt.datetime | None = None,
             sync_interval_seconds: dict[str, int] | None = None, endpoints: set[str] | None = None) -> dict:
    """Health of every entity and endpoint as of ``now`` (default: the current time).

    ``endpoints``: the endpoints still configured (``configured_endpoints()``); the state of one no longer
    configured is history, not health, so it leaves the snapshot. None: every endpoint with a stored state.

    ``status``: "failing" when an endpoint is paused or any event is dead; "degraded" when events are failed,
    an endpoint is throttled, an entity's last failed try (``last_failure``) is newer than its last success, or
    its last successful sync is older than 3 of its intervals (or it never synced); else "ok". ``reasons`` says which of these hold, in words.
    """
    now = as_utc(now) if now is not None else dt.datetime.now(dt.timezone.utc)
    intervals = {**entity_intervals(), **(sync_interval_seconds or {})}
    try:
        counts: dict[str, dict[str, int]] = {}
        for entity, status, n in store.query(store.sql(AREA, "status_counts")):
            counts.setdefault(entity, {})[status] = int(n)
        oldest: dict[str, dt.datetime] = {}
        for entity, _status, created in store.query(store.sql(AREA, "oldest_undelivered")):
            created = as_utc(created)
            if created is not None and (entity not in oldest or created < oldest[entity]):
                oldest[entity] = created
        watermarks = {entity: int(until) for entity, until in store.query(store.sql(AREA, "watermarks"))}
        last_runs = {}
        for spec in ENTITIES:
            rows = store.query(store.sql(AREA, "last_run"), {"entity": spec.name})
            last_runs[spec.name] = rows[0] if rows else (None, None)
        endpoint_rows = store.query(store.sql(AREA, "endpoints"))
        failures = {row[0]: row[1:] for row in store.query(store.sql(AREA, "last_failures"))}
    finally:
        store.commit()  # end the read transaction: a long-lived connection must not keep an old view

    entities: dict[str, dict] = {}
    reasons: list[str] = []
    status = "ok"

    def worse(level: str, reason: str) -> None:
        nonlocal status
        reasons.append(reason)
        if level == "failing" or status == "ok":
            status = level

    for spec in ENTITIES:
        name = spec.name
        finished_at, run_id = last_runs[name]
        finished_at = as_utc(finished_at)
        by_status = counts.get(name, {})
        watermark = watermarks.get(name)
        first = oldest.get(name)
        entities[name] = {
            "last_success_at": iso_utc(finished_at),
            "last_run_id": run_id,
            "watermark": watermark,
            "watermark_lag_seconds": int(now.timestamp()) - watermark if watermark is not None else None,
            **{s: by_status.get(s, 0) for s in STATUSES},
            "oldest_pending_age_seconds": round((now - first).total_seconds(), 3) if first is not None else None,
            "last_failure": None,
        }
        if name in failures:
            failed_at, run_id_failed, task_id, try_number, final, error = failures[name]
            failed_at = as_utc(failed_at)
            entities[name]["last_failure"] = {
                "at": iso_utc(failed_at), "run_id": run_id_failed, "task_id": task_id, "try_number": try_number,
                "final": bool(final), "error": error}
            if finished_at is None or failed_at > finished_at:  # a later success makes it history
                worse("degraded", f"{name}: {spec.dag_id}.{task_id} failed at {failed_at.isoformat()} (try "
                                  f"{try_number}{'' if final else ', retrying'}): {error}")
        if by_status.get("dead"):
            worse("failing", f"{name}: {by_status['dead']} dead events")
        if by_status.get("failed"):
            worse("degraded", f"{name}: {by_status['failed']} failed events waiting for a retry")
        interval = intervals.get(name)
        if finished_at is None:
            worse("degraded", f"{name}: never synced")
        elif interval and (now - finished_at).total_seconds() > STALE_INTERVALS * interval:
            worse("degraded", f"{name}: last successful sync {finished_at.isoformat()} is older than "
                              f"{STALE_INTERVALS} intervals of {interval} s")

    configured, endpoints = endpoints, []
    for endpoint, state, reason, updated_at in endpoint_rows:
        if configured is not None and endpoint not in configured:
            continue
        endpoints.append({"endpoint": endpoint, "state": state, "reason": reason, "updated_at": iso_utc(updated_at)})
        if state == "paused":
            worse("failing", f"endpoint {endpoint} is paused: {reason or 'no reason recorded'}")
        elif state == "throttled":
            worse("degraded", f"endpoint {endpoint} is throttled: {reason or 'no reason recorded'}")

    return {"generated_at": now.isoformat(), "status": status, "reasons": reasons, "entities": entities,
            "endpoints": endpoints}


def human_duration(seconds) -> str:
    """3 s, 4 min, 2 h 5 min, 3 d 4 h ("-" when unknown): how alerts and the operator's page say an age."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 0:
        return f"in {human_duration(-s)}"
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
