"""Operational alerts: the pure checks over a health snapshot (a table) and their thresholds."""

from __future__ import annotations

import datetime as dt
import json

import pytest

NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
ENTITIES = ("enrolment", "grade", "user")


def healthy_entity(**changes) -> dict:
    entity = {"last_success_at": (NOW - dt.timedelta(minutes=10)).isoformat(), "last_run_id": "scheduled__x",
              "watermark": int(NOW.timestamp()) - 900, "watermark_lag_seconds": 900, "pending": 3, "failed": 1,
              "dead": 0, "sent": 1000, "oldest_pending_age_seconds": 120.0}
    entity.update(changes)
    return entity


def snap(entities: dict | None = None, endpoints: list | None = None) -> dict:
    all_entities = {name: healthy_entity() for name in ENTITIES}
    all_entities.update(entities or {})
    return {"generated_at": NOW.isoformat(), "status": "ok", "entities": all_entities,
            "endpoints": endpoints if endpoints is not None else
            [{"endpoint": "https://crm/api/v1/webhooks", "state": "ok", "reason": None, "updated_at": NOW.isoformat()}]}


def thresholds(**changes):
    from moodle_sync.ops.monitor import Thresholds

    values = dict(dead_events=0, stalled_intervals=3, backlog_minutes=60, repeat_minutes=240,
                  sync_interval_seconds={name: 900 for name in ENTITIES})
    values.update(changes)
    return Thresholds(**values)


PAUSED = {"endpoint": "https://crm/api/v1/webhooks", "state": "paused", "reason": "HTTP 410: gone",
          "updated_at": (NOW - dt.timedelta(hours=1)).isoformat()}


CASES = [
    # (case, snapshot, thresholds, expected alert keys)
    ("healthy", snap(), thresholds(), []),
    ("one dead event", snap({"grade": healthy_entity(dead=1)}), thresholds(), ["monitor:dead:grade"]),
    ("dead at the threshold", snap({"grade": healthy_entity(dead=5)}), thresholds(dead_events=5), []),
    ("dead above the threshold", snap({"grade": healthy_entity(dead=6)}), thresholds(dead_events=5),
     ["monitor:dead:grade"]),
    ("dead check off", snap({"grade": healthy_entity(dead=600)}), thresholds(dead_events=None), []),
    ("endpoint paused", snap(endpoints=[PAUSED]), thresholds(), ["monitor:paused:https://crm/api/v1/webhooks"]),
    ("endpoint throttled", snap(endpoints=[dict(PAUSED, state="throttled")]), thresholds(), []),
    ("no endpoint known yet", snap(endpoints=[]), thresholds(), []),
    ("stalled: 3 intervals and a bit", snap({"user": healthy_entity(
        last_success_at=(NOW - dt.timedelta(minutes=46)).isoformat())}), thresholds(), ["monitor:stalled:user"]),
    ("not stalled: exactly 3 intervals", snap({"user": healthy_entity(
        last_success_at=(NOW - dt.timedelta(minutes=45)).isoformat())}), thresholds(), []),
    ("stall counted in the entity's own interval", snap({"user": healthy_entity(
        last_success_at=(NOW - dt.timedelta(hours=2)).isoformat())}),
     thresholds(sync_interval_seconds={"user": 3600, "grade": 900, "enrolment": 900}), []),
    ("never synced is not stalled", snap({"user": healthy_entity(last_success_at=None, last_run_id=None)}),
     thresholds(), []),
    ("stalled check off", snap({"user": healthy_entity(last_success_at=(NOW - dt.timedelta(days=3)).isoformat())}),
     thresholds(stalled_intervals=None), []),
    ("backlog older than the threshold", snap({"enrolment": healthy_entity(oldest_pending_age_seconds=3601.0)}),
     thresholds(), ["monitor:backlog:enrolment"]),
    ("backlog within the threshold", snap({"enrolment": healthy_entity(oldest_pending_age_seconds=3600.0)}),
     thresholds(), []),
    ("no backlog at all", snap({"enrolment": healthy_entity(oldest_pending_age_seconds=None, pending=0, failed=0)}),
     thresholds(), []),
    ("everything at once", snap({"grade": healthy_entity(dead=2, oldest_pending_age_seconds=7200.0),
                                 "user": healthy_entity(last_success_at=(NOW - dt.timedelta(hours=5)).isoformat())},
                                [PAUSED]), thresholds(),
     ["monitor:backlog:grade", "monitor:dead:grade", "monitor:paused:https://crm/api/v1/webhooks",
      "monitor:stalled:user"]),
]


@pytest.mark.parametrize("case, snapshot, limits, expected", CASES, ids=[c[0] for c in CASES])
def test_evaluate(case, snapshot, limits, expected):
    from moodle_sync.ops.monitor import evaluate

    alerts = evaluate(snapshot, limits)
    assert [a.key for a in alerts] == expected
    for a in alerts:
        assert a.severity in ("critical", "warning") and a.summary and json.dumps(a.details)


def test_alert_texts_say_what_and_how_much():
    from moodle_sync.ops.monitor import evaluate

    snapshot = CASES[-1][1]
    by_key = {a.key.split(":")[1]: a for a in evaluate(snapshot, thresholds())}
    assert by_key["dead"].summary.startswith("grade: 2 dead events (threshold 0)")
    assert by_key["stalled"].summary.startswith("user: no successful sync for 5 h 0 min (20.0 intervals of 15 min")
    assert by_key["backlog"].summary.startswith("grade: oldest undelivered event is 2 h 0 min old (3 pending, 1 failed")
    assert "HTTP 410: gone" in by_key["paused"].summary and "resume_endpoint=true" in by_key["paused"].summary
    assert by_key["backlog"].severity == "warning" and by_key["dead"].severity == "critical"


def test_thresholds_from_the_environment():
    from moodle_sync.ops.monitor import Thresholds
    from moodle_sync.config import ConfigError

    t = Thresholds.from_env({}, sync_interval_seconds={"user": 900})
    assert (t.dead_events, t.stalled_intervals, t.backlog_minutes, t.repeat_minutes) == (0, 3, 60, 240)
    t = Thresholds.from_env({"MOODLE_SYNC_ALERT_DEAD_EVENTS": "25", "MOODLE_SYNC_ALERT_STALLED_INTERVALS": "off",
                             "MOODLE_SYNC_ALERT_BACKLOG_MINUTES": "7.5", "MOODLE_SYNC_ALERT_REPEAT_MINUTES": "0"})
    assert (t.dead_events, t.stalled_intervals, t.backlog_minutes, t.repeat_minutes) == (25, None, 7.5, 0)
    for var, value in (("MOODLE_SYNC_ALERT_DEAD_EVENTS", "many"), ("MOODLE_SYNC_ALERT_BACKLOG_MINUTES", "-1"),
                       ("MOODLE_SYNC_ALERT_REPEAT_MINUTES", "off")):
        with pytest.raises(ConfigError, match=var):
            Thresholds.from_env({var: value})


def test_sync_intervals_come_from_the_entity_schedules():
    from moodle_sync.entities import ENTITIES
    from moodle_sync.ops.health import entity_intervals, schedule_interval_seconds

    assert entity_intervals() == {spec.name: 900 for spec in ENTITIES}  # every entity DAG: */15
    assert schedule_interval_seconds("*/5 * * * *") == 300
    assert schedule_interval_seconds("0 9 * * 1-5") == 3 * 86400  # Friday 9:00 to Monday 9:00
