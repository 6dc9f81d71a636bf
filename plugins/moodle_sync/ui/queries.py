"""What the operator's page reads from the event log besides the health snapshot: events over time, delivery
latency, the event browser and an event's attempts. Metadata only: no query here reads ``payload``.

All SQL is in ``include/sql/ui``; every value is bound.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid

from moodle_sync.outbox.db import Database
from moodle_sync.entities import ENTITIES
from moodle_sync.ops.health import STATUSES, as_utc, iso_utc

AREA = "ui"
ENTITY_TYPES = tuple(spec.name for spec in ENTITIES)
#: event types the sync writes, for the browser's filter (a deleted user is '<entity>.deleted')
EVENT_TYPES = tuple(sorted({t for spec in ENTITIES for t in spec.event_types}
                           | {f"{spec.name}.deleted" for spec in ENTITIES if spec.deleted_flag}))
PERCENTILES = (50, 90, 95, 99)
MAX_HOURS = 24 * 31
EVENT_COLUMNS = ["id", "event_id", "event_type", "entity_type", "entity_key", "sequence", "status", "attempts",
                 "last_http_status", "last_error", "created_at", "updated_at", "sent_at", "next_retry_at",
                 "dag_run_id"]
ATTEMPT_COLUMNS = ["attempt", "started_at", "duration_ms", "http_status", "outcome", "error_class",
                   "response_excerpt", "next_retry_at", "dag_run_id", "task_id", "action"]


class BadQuery(ValueError):
    """A search or statistics parameter is invalid; the message says which and what is accepted."""


def parse_event_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise BadQuery(f"event_id {value!r} is not a UUID (e.g. 733439cb-d281-5f85-afff-b1ee12369c03)") from None


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO-8601 time (UTC when it names no zone), or None."""
    if value is None or not str(value).strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):  # also a time that leaves year 1..9999 once moved to UTC
        raise BadQuery(f"time {value!r} is not an ISO 8601 time between years 1 and 9999 "
                       "(e.g. 2026-11-20T00:00:00Z)") from None


def check_choice(name: str, value: str | None, allowed) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise BadQuery(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def _row(names, row) -> dict:
    item = dict(zip(names, row))
    for key, value in item.items():
        if isinstance(value, dt.datetime):
            item[key] = iso_utc(value)
        elif isinstance(value, uuid.UUID):
            item[key] = str(value)
    return item


def statistics(store: Database, *, hours: int = 24, now: dt.datetime | None = None) -> dict:
    """Events created in the last ``hours`` per time bucket, by current status and by type, and the delivery
    latency (created -> sent) of those that were sent: percentiles per entity and overall."""
    if not 1 <= hours <= MAX_HOURS:
        raise BadQuery(f"hours must be between 1 and {MAX_HOURS}")
    now = as_utc(now) if now else dt.datetime.now(dt.timezone.utc)
    bucket = 3600 if hours <= 72 else 86400
    until = dt.datetime.fromtimestamp((math.floor(now.timestamp() / bucket) + 1) * bucket, dt.timezone.utc)
    since = until - dt.timedelta(seconds=bucket * math.ceil(hours * 3600 / bucket))
    params = {"bucket": bucket, "entity_types": store.bind_list(ENTITY_TYPES), "statuses": store.bind_list(STATUSES),
              "since": store.ts(since), "until": store.ts(until)}
    try:
        rows = store.query(store.sql(AREA, "events_per_bucket"), params)
        latency_rows = store.query(store.sql(AREA, "latency_histogram"), params)
    finally:
        store.commit()
    starts = list(range(int(since.timestamp()), int(until.timestamp()), bucket))
    index = {start: i for i, start in enumerate(starts)}
    by_status = {status: [0] * len(starts) for status in STATUSES}
    by_type: dict[str, list[int]] = {}
    for start, event_type, status, n in rows:
        i = index.get(int(start))
        if i is None:
            continue
        by_status.setdefault(status, [0] * len(starts))[i] += int(n)
        by_type.setdefault(event_type, [0] * len(starts))[i] += int(n)
    histograms: dict[str, dict[int, int]] = {}
    for entity, b, n in latency_rows:
        histograms.setdefault(entity, {})[int(b)] = int(n)
        total = histograms.setdefault("all", {})
        total[int(b)] = total.get(int(b), 0) + int(n)
    return {
        "since": since.isoformat(), "until": until.isoformat(), "hours": hours, "bucket_seconds": bucket,
        "buckets": [dt.datetime.fromtimestamp(s, dt.timezone.utc).isoformat() for s in starts],
        "by_status": by_status,
        "by_type": dict(sorted(by_type.items())),
        "totals": {status: sum(counts) for status, counts in by_status.items()},
        "latency": {name: latency_summary(hist) for name, hist in sorted(histograms.items())},
    }


def latency_summary(histogram: dict[int, int]) -> dict:
    """Percentiles (ms) from a histogram of log-spaced bins (bin b: e^(b/10) <= ms < e^((b+1)/10)), read by
    interpolating inside the bin: within the bin's width, about 10 %."""
    count = sum(histogram.values())
    out: dict = {"count": count}
    bins = sorted(histogram.items())
    for p in PERCENTILES:
        rank, seen, value = p / 100 * count, 0, None
        for b, n in bins:
            if seen + n >= rank:
                value = math.exp((b + (rank - seen) / n) / 10)
                break
            seen += n
        out[f"p{p}_ms"] = round(value, 1) if value is not None else None
    out["max_ms_below"] = round(math.exp((bins[-1][0] + 1) / 10), 1) if bins else None
    out["histogram"] = [{"from_ms": round(math.exp(b / 10), 1), "to_ms": round(math.exp((b + 1) / 10), 1),
                         "count": n} for b, n in bins]
    return out


def search_events(store: Database, *, entity_type: str | None = None, entity_key: str | None = None,
                  status: str | None = None, event_type: str | None = None, before_id: int | None = None,
                  limit: int = 50) -> list[dict]:
    """Newest events first, filtered; page on with ``before_id`` = the last row's id."""
    entity_type = check_choice("entity_type", entity_type, ENTITY_TYPES)
    status = check_choice("status", status, STATUSES)
    if event_type is not None and len(event_type) > 40 or entity_key is not None and len(entity_key) > 64:
        raise BadQuery("event_type is at most 40 characters, entity_key at most 64")
    if not 1 <= limit <= 500:
        raise BadQuery("limit must be between 1 and 500")
    params = {"entity_types": store.bind_list([entity_type] if entity_type else ENTITY_TYPES),
              "status": status, "event_type": event_type or None, "entity_key": entity_key or None,
              "before_id": before_id, "limit": limit}
    try:
        rows = store.query(store.sql(AREA, "search_events"), params)
    finally:
        store.commit()
    return [_row(EVENT_COLUMNS, row) for row in rows]


def event(store: Database, event_id: str) -> dict | None:
    """One event's metadata and its attempts, or None."""
    event_id = parse_event_id(event_id)
    try:
        rows = store.query(store.sql(AREA, "event"), {"event_id": event_id})
        attempts = store.query(store.sql(AREA, "attempts"), {"event_id": event_id}) if rows else []
    finally:
        store.commit()
    if not rows:
        return None
    names = EVENT_COLUMNS + ["budget_started_at", "locked_by", "locked_until"]
    item = _row(names, rows[0])
    item["attempt_rows"] = [_row(ATTEMPT_COLUMNS, row) for row in attempts]
    return item


def count_dead_since(store: Database, since: dt.datetime, entity_type: str | None = None) -> int:
    """Dead events created since ``since``: what "replay all dead since" would requeue."""
    entity_type = check_choice("entity_type", entity_type, ENTITY_TYPES)
    try:
        rows = store.query(store.sql(AREA, "count_dead_since"), {
            "entity_types": store.bind_list([entity_type] if entity_type else ENTITY_TYPES),
            "since": store.ts(since)})
    finally:
        store.commit()
    return int(rows[0][0])
