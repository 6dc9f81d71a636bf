"""Operational alerts: the ``moodle_sync_monitor`` DAG checks the health snapshot every few minutes.

``evaluate`` is a pure function of the snapshot (``moodle_sync.ops.health``, only its contract's fields) and the
thresholds: dead events above a threshold, a paused endpoint, a stalled sync (no success for N intervals of
the entity's schedule), an undelivered backlog older than a threshold. ``run_monitor`` sends what is new,
re-sends what still holds after ``repeat_minutes``, announces once what cleared, and remembers it in
``moodle_sync_alert_state``: a condition that lasts a day makes a handful of messages, not 288.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field

from moodle_sync.ops import alert_state
from moodle_sync.ops.alerts import AlertDeliveryError, Notification, dispatch
from moodle_sync.outbox.db import Database
from moodle_sync.ops.health import human_duration
from moodle_sync.config import (ALERT_BACKLOG_MINUTES, ALERT_DEAD_EVENTS, ALERT_REPEAT_MINUTES,
                                 ALERT_STALLED_INTERVALS, ConfigError)

log = logging.getLogger("moodle_sync.ops.monitor")

KEY_PREFIX = "monitor:"
ENV = {  # threshold -> (environment variable, default); "off" disables a check
    "dead_events": (ALERT_DEAD_EVENTS.env, ALERT_DEAD_EVENTS.default),
    "stalled_intervals": (ALERT_STALLED_INTERVALS.env, ALERT_STALLED_INTERVALS.default),
    "backlog_minutes": (ALERT_BACKLOG_MINUTES.env, ALERT_BACKLOG_MINUTES.default),
    "repeat_minutes": (ALERT_REPEAT_MINUTES.env, ALERT_REPEAT_MINUTES.default),
}


@dataclass(frozen=True)
class Thresholds:
    dead_events: float | None = ALERT_DEAD_EVENTS.default  # alert when an entity has more dead events than this
    stalled_intervals: float | None = ALERT_STALLED_INTERVALS.default  # ... no successful sync for this many intervals
    backlog_minutes: float | None = ALERT_BACKLOG_MINUTES.default  # ... its oldest undelivered event is older
    repeat_minutes: float = ALERT_REPEAT_MINUTES.default  # re-send a condition that still holds after this long (0: every run)
    sync_interval_seconds: dict = field(default_factory=dict)  # entity -> longest gap of its schedule

    @classmethod
    def from_env(cls, environ=None, sync_interval_seconds: dict | None = None) -> "Thresholds":
        environ = os.environ if environ is None else environ
        values = {}
        for name, (var, default) in ENV.items():
            raw = str(environ.get(var, default)).strip()
            if raw.lower() == "off" and name != "repeat_minutes":
                values[name] = None
                continue
            try:
                values[name] = float(raw)
            except ValueError as exc:
                raise ConfigError(f"{var}={raw!r} is not a number (or 'off')") from exc
            if values[name] < 0:
                raise ConfigError(f"{var}={raw!r} must not be negative")
        return cls(**values, sync_interval_seconds=dict(sync_interval_seconds or {}))


@dataclass(frozen=True)
class Alert:
    key: str  # stable identity of the condition: monitor:<check>:<subject>
    severity: str  # critical or warning
    summary: str  # one line for people
    details: dict = field(default_factory=dict)


def _parse(ts: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(ts)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def evaluate(snapshot: dict, thresholds: Thresholds) -> list[Alert]:
    """The conditions that hold in ``snapshot`` (the health contract's dict), sorted by key."""
    t = thresholds
    now = _parse(snapshot["generated_at"])
    alerts: list[Alert] = []
    for entity, e in sorted(snapshot.get("entities", {}).items()):
        dead = int(e.get("dead") or 0)
        if t.dead_events is not None and dead > t.dead_events:
            alerts.append(Alert(f"{KEY_PREFIX}dead:{entity}", "critical",
                                f"{entity}: {dead} dead events (threshold {t.dead_events:g}); see "
                                "moodle_sync_delivery_attempt, replay with the moodle_sync_replay DAG",
                                {"entity": entity, "dead": dead, "threshold": t.dead_events}))
        interval = t.sync_interval_seconds.get(entity)
        if t.stalled_intervals is not None and interval and e.get("last_success_at"):
            idle = (now - _parse(e["last_success_at"])).total_seconds()
            if idle > t.stalled_intervals * interval:
                alerts.append(Alert(f"{KEY_PREFIX}stalled:{entity}", "critical",
                                    f"{entity}: no successful sync for {human_duration(idle)} ({idle / interval:.1f} "
                                    f"intervals of {human_duration(interval)}; threshold {t.stalled_intervals:g})",
                                    {"entity": entity, "last_success_at": e["last_success_at"],
                                     "idle_seconds": int(idle), "interval_seconds": interval,
                                     "last_run_id": e.get("last_run_id")}))
        age = e.get("oldest_pending_age_seconds")
        if t.backlog_minutes is not None and age is not None and age > t.backlog_minutes * 60:
            alerts.append(Alert(f"{KEY_PREFIX}backlog:{entity}", "warning",
                                f"{entity}: oldest undelivered event is {human_duration(age)} old ({e.get('pending', 0)} "
                                f"pending, {e.get('failed', 0)} failed; threshold {t.backlog_minutes:g} min)",
                                {"entity": entity, "oldest_pending_age_seconds": age,
                                 "pending": e.get("pending", 0), "failed": e.get("failed", 0)}))
    for ep in snapshot.get("endpoints", []):
        if ep.get("state") == "paused":
            alerts.append(Alert(f"{KEY_PREFIX}paused:{ep['endpoint']}", "critical",
                                f"endpoint {ep['endpoint']} is paused since {ep.get('updated_at')}: "
                                f"{ep.get('reason') or 'no reason recorded'}; fix it, then run moodle_sync_replay "
                                "with resume_endpoint=true",
                                {"endpoint": ep["endpoint"], "reason": ep.get("reason"),
                                 "since": ep.get("updated_at")}))
    return sorted(alerts, key=lambda a: a.key)


def notification(firing: list[Alert], resolved: list[alert_state.State], snapshot: dict) -> Notification:
    """One message per run: what fires (new or reminded) and what cleared since the last message."""
    if firing:
        title = f"{len(firing)} problem(s): " + "; ".join(a.summary.split(";")[0] for a in firing)
    else:
        title = "resolved: " + "; ".join(s.summary.split(";")[0] for s in resolved)
    lines = [f"Health at {snapshot['generated_at']}: {snapshot.get('status', '?')}", ""]
    lines += [f"[{a.severity.upper()}] {a.summary}" for a in firing]
    lines += [f"[RESOLVED] {s.summary} (since {s.first_seen_at.isoformat()})" for s in resolved]
    severity = "critical" if any(a.severity == "critical" for a in firing) else "warning" if firing else "resolved"
    return Notification(
        title=title[:200], text="\n".join(lines), severity=severity,
        data={"kind": "monitor", "status": snapshot.get("status"), "generated_at": snapshot["generated_at"],
              "firing": [{"key": a.key, "severity": a.severity, "summary": a.summary, **a.details} for a in firing],
              "resolved": [{"key": s.key, "summary": s.summary} for s in resolved]})


def run_monitor(store: Database, channels: list, thresholds: Thresholds, *, now: dt.datetime | None = None,
                endpoints: set[str] | None = None) -> dict:
    """Check the health, send what is due, remember it. Raises AlertDeliveryError when something was due
    and every channel failed (the state is then left alone, so the next run tries again)."""
    from moodle_sync.ops.health import snapshot as health_snapshot

    now = now or dt.datetime.now(dt.timezone.utc)
    snap = health_snapshot(store, now=now, sync_interval_seconds=thresholds.sync_interval_seconds,
                           endpoints=endpoints)
    alerts = evaluate(snap, thresholds)
    for a in alerts:
        log.warning("[%s] %s", a.severity, a.summary)
    known = alert_state.list_prefix(store, KEY_PREFIX)
    store.commit()
    repeat = dt.timedelta(minutes=thresholds.repeat_minutes)
    firing = [a for a in alerts if alert_state.due(known.get(a.key), now, repeat)]
    current = {a.key for a in alerts}
    resolved = [s for key, s in known.items() if key not in current]
    held = [a.key for a in alerts if a not in firing]
    summary = {"status": snap.get("status"), "firing": [a.key for a in alerts], "sent": [a.key for a in firing],
               "resolved": [s.key for s in resolved], "held": held, "delivered": 0}
    if not firing and not resolved:
        if held:
            log.info("%d condition(s) still hold, already alerted: %s", len(held), ", ".join(held))
        return summary
    message = notification(firing, resolved, snap)
    delivered, failed = dispatch(message, channels) if channels else (0, 0)
    if not channels:
        log.warning("no alert channel: %s\n%s", message.title, message.text)
    if channels and not delivered:
        raise AlertDeliveryError(f"{len(firing)} alert(s) and {len(resolved)} resolution(s) were due and all "
                                 f"{failed} alert channel(s) failed (see the errors above); the next run tries again")
    summary["delivered"] = delivered
    try:
        for a in firing:
            alert_state.record_sent(store, a.key, a.severity, a.summary, now)
        for s in resolved:
            alert_state.clear(store, s.key)
        store.commit()
    except Exception:
        store.rollback()
        raise
    return summary
