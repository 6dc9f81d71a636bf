"""What was alerted and when (``moodle_sync_alert_state``), so that a condition that holds is re-sent only
after a repeat interval and its end is announced once. Keys: ``monitor:<check>:<subject>`` for the monitor's
conditions, ``task:<dag_id>.<task_id>`` for task failures. Statements in ``include/sql/alerts``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from moodle_sync.outbox.db import Database, utcnow

AREA = "alerts"


@dataclass(frozen=True)
class State:
    key: str
    severity: str
    summary: str
    first_seen_at: dt.datetime
    last_sent_at: dt.datetime
    suppressed: int


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _state(row) -> State:
    key, severity, summary, first, last, suppressed = row
    return State(key, severity, summary, _utc(first), _utc(last), int(suppressed))


def get(store: Database, key: str) -> State | None:
    rows = store.query(store.sql(AREA, "state_get"), {"key": key})
    return _state(rows[0]) if rows else None


def list_prefix(store: Database, prefix: str) -> dict[str, State]:
    rows = store.query(store.sql(AREA, "state_list"), {"prefix": prefix + "%"})
    return {row[0]: _state(row) for row in rows}


def record_sent(store: Database, key: str, severity: str, summary: str, now: dt.datetime | None = None) -> None:
    store.execute(store.sql(AREA, "state_sent"), {"key": key, "severity": severity, "summary": summary[:2000],
                                                  "now": store.ts(now or utcnow())})


def record_suppressed(store: Database, key: str) -> None:
    store.execute(store.sql(AREA, "state_suppress"), {"key": key})


def clear(store: Database, key: str) -> None:
    store.execute(store.sql(AREA, "state_delete"), {"key": key})


def due(state: State | None, now: dt.datetime, repeat: dt.timedelta) -> bool:
    """Send now? Yes for a new condition, or when the last message is ``repeat`` old (0: every time)."""
    return state is None or not repeat or now - state.last_sent_at >= repeat
