"""A snapshot of the sync's health as plain JSON-able data (the contract in notes/health_contract.md).

Minimal version for the monitor DAG; the operator's page builds on the same function. Every statement is in
``include/sql/health``.
"""

from __future__ import annotations

import datetime as dt

from moodle_sync.db import Database, utcnow
from moodle_sync.entities import ENTITIES

AREA = "health"
STATUSES = ("pending", "failed", "dead", "sent")


def _utc(value) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _iso(value) -> str | None:
    value = _utc(value)
    return value.isoformat() if value else None


def snapshot(store: Database, *, now: dt.datetime | None = None,
             sync_interval_seconds: dict[str, int] | None = None) -> dict:
    """Per entity: last success, watermark lag, counts by status, oldest undelivered age; endpoint states."""
    now = _utc(now) or utcnow()
    intervals = sync_interval_seconds or {}
    try:
        watermarks = {e: int(v) for e, v in store.query(store.sql(AREA, "watermarks"))}
        counts: dict[str, dict[str, int]] = {}
        for entity, status, n in store.query(store.sql(AREA, "status_counts")):
            counts.setdefault(entity, {})[status] = int(n)
        oldest = {e: _utc(t) for e, t in store.query(store.sql(AREA, "oldest_pending"))}
        entities = {}
        for spec in ENTITIES:
            name = spec.name
            last = store.query(store.sql(AREA, "last_success"), {"entity": name})
            watermark = watermarks.get(name)
            entities[name] = {
                "last_success_at": _iso(last[0][0]) if last else None,
                "last_run_id": last[0][1] if last else None,
                "watermark": watermark,
                "watermark_lag_seconds": int(now.timestamp()) - watermark if watermark is not None else None,
                **{status: counts.get(name, {}).get(status, 0) for status in STATUSES},
                "oldest_pending_age_seconds": (round((now - oldest[name]).total_seconds(), 3)
                                               if oldest.get(name) else None),
            }
        endpoints = [{"endpoint": e, "state": s, "reason": r, "updated_at": _iso(u)}
                     for e, s, r, u in store.query(store.sql(AREA, "endpoints"))]
    finally:
        store.commit()  # end the read transaction: no snapshot held open between runs
    return {"generated_at": now.isoformat(), "status": _status(now, entities, endpoints, intervals),
            "entities": entities, "endpoints": endpoints}


def _status(now: dt.datetime, entities: dict, endpoints: list, intervals: dict[str, int]) -> str:
    if any(e["state"] == "paused" for e in endpoints) or any(v["dead"] for v in entities.values()):
        return "failing"
    stale = False
    for name, v in entities.items():
        interval = intervals.get(name)
        if interval and v["last_success_at"]:
            stale |= (now - dt.datetime.fromisoformat(v["last_success_at"])).total_seconds() > 3 * interval
    if stale or any(e["state"] == "throttled" for e in endpoints) or any(v["failed"] for v in entities.values()):
        return "degraded"
    return "ok"
