"""Operational alerts: the health snapshot on MariaDB and PostgreSQL, the alert state (send once, remind, announce
the end, retry when every channel failed), and the moodle_sync_monitor DAG end to end through Airflow into real
sinks on loopback (the pure checks over a snapshot: tests/unit/test_monitor.py)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from support.helpers import add_events
from moodle_sync.ops import monitor  # noqa: F401  (imports Airflow, which sets up logging, before caplog hooks in)
from support.sinks import HttpSink, SmtpSink, free_port

NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
ENTITIES = ("enrolment", "grade", "user")


def thresholds(**changes):
    from moodle_sync.ops.monitor import Thresholds

    values = dict(dead_events=0, stalled_intervals=3, backlog_minutes=60, repeat_minutes=240,
                  sync_interval_seconds={name: 900 for name in ENTITIES})
    values.update(changes)
    return Thresholds(**values)


# --- against the event log ---------------------------------------------------------------------------------


def record_run(store, entity: str, finished_at: dt.datetime, run_id: str = "scheduled__t") -> None:
    store.execute(store.sql("eventlog", "insert_run_log"), {
        "entity": entity, "dag_run_id": run_id, "mode": "interval", "since": 0, "until": 1, "read": 1,
        "quarantined": 0, "unchanged": 0, "events": 1, "seconds": 0.1, "now": store.ts(finished_at)})
    store.commit()


def set_status(store, ids: list[str], status: str, created_at: dt.datetime | None = None) -> None:
    for event_id in ids:
        params = {"id": event_id, "status": status}
        sql = "UPDATE moodle_sync_event_log SET status = %(status)s"
        if status in ("sent", "dead"):
            sql += ", next_retry_at = NULL"
        if created_at:
            sql += ", created_at = %(created)s"
            params["created"] = store.ts(created_at)
        store.execute(sql + " WHERE event_id = %(id)s", params)
    store.commit()


def healthy_log(store, now: dt.datetime) -> None:
    """Every entity synced 5 minutes ago; events sent but two fresh pending ones; the endpoint ok."""
    from moodle_sync.outbox import eventlog

    for entity in ENTITIES:
        record_run(store, entity, now - dt.timedelta(hours=3), "scheduled__old")
        record_run(store, entity, now - dt.timedelta(minutes=5))
    set_status(store, add_events(store, "user", [(k, 1) for k in range(1, 6)]), "sent")
    add_events(store, "user", [(k, 1) for k in range(6, 8)])  # pending, a second old
    eventlog.set_endpoint_state(store, "http://crm/api/v1/webhooks", "ok")


def broken_log(store, now: dt.datetime) -> None:
    """From a healthy log: two dead grades, a paused endpoint, users not synced for 2 hours, an old backlog."""
    from moodle_sync.outbox import eventlog

    set_status(store, add_events(store, "grade", [("7:1", 1), ("7:2", 1)]), "dead")
    eventlog.set_endpoint_state(store, "http://crm/api/v1/webhooks", "paused", "HTTP 410: gone")
    store.execute("DELETE FROM moodle_sync_run_log WHERE entity_type = 'user' AND dag_run_id = 'scheduled__t'")
    store.commit()
    record_run(store, "user", now - dt.timedelta(hours=2))
    set_status(store, add_events(store, "enrolment", [(31, 1)]), "failed", created_at=now - dt.timedelta(hours=3))


def test_health_snapshot_of_the_event_log(store):
    from moodle_sync.ops.health import snapshot

    now = dt.datetime.now(dt.timezone.utc)
    empty = snapshot(store, now=now)
    assert set(empty["entities"]) == set(ENTITIES) and empty["endpoints"] == []
    assert empty["status"] == "degraded"  # nothing ever synced
    assert empty["entities"]["user"] == {"last_success_at": None, "last_run_id": None, "watermark": None,
                                         "watermark_lag_seconds": None, "pending": 0, "failed": 0, "dead": 0,
                                         "sent": 0, "superseded": 0, "skipped": 0,
                                         "oldest_pending_age_seconds": None, "last_failure": None}
    healthy_log(store, now)
    broken_log(store, now)
    s = snapshot(store, now=now, sync_interval_seconds={name: 900 for name in ENTITIES})
    json.dumps(s)
    assert s["status"] == "failing"
    user, grade, enrolment = s["entities"]["user"], s["entities"]["grade"], s["entities"]["enrolment"]
    assert (user["pending"], user["sent"], user["dead"]) == (2, 5, 0) and (grade["dead"], grade["pending"]) == (2, 0)
    assert dt.datetime.fromisoformat(user["last_success_at"]) == now - dt.timedelta(hours=2)
    assert s["entities"]["grade"]["last_run_id"] == "scheduled__t"
    assert enrolment["failed"] == 1 and 3 * 3600 - 1 < enrolment["oldest_pending_age_seconds"] < 3 * 3600 + 1
    assert grade["oldest_pending_age_seconds"] is None  # dead events are no backlog
    assert s["endpoints"] == [{"endpoint": "http://crm/api/v1/webhooks", "state": "paused",
                               "reason": "HTTP 410: gone", "updated_at": s["endpoints"][0]["updated_at"]}]


def webhook_channel(web, conn_id="ops_hook"):
    from airflow.sdk import Connection

    from moodle_sync.ops.alerts import channel_from_connection

    return channel_from_connection(Connection(conn_id=conn_id, conn_type="http", host=f"http://127.0.0.1:{web.port}",
                                              password="monitor-token-123"))


def test_a_condition_is_sent_once_reminded_after_the_repeat_interval_and_its_end_announced(store):
    from moodle_sync.ops.health import entity_intervals
    from moodle_sync.ops.monitor import run_monitor

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    limits = thresholds(sync_interval_seconds=entity_intervals())
    with HttpSink() as web:
        channels = [webhook_channel(web)]
        healthy_log(store, now)
        assert run_monitor(store, channels, limits, now=now)["firing"] == []
        assert web.requests == []  # a healthy log says nothing

        broken_log(store, now)
        first = run_monitor(store, channels, limits, now=now)
        keys = ["monitor:backlog:enrolment", "monitor:dead:grade", "monitor:paused:http://crm/api/v1/webhooks",
                "monitor:stalled:user"]
        assert first["sent"] == keys and first["delivered"] == 1
        [message] = [r["json"] for r in web.requests]
        assert message["kind"] == "monitor" and message["severity"] == "critical" and message["status"] == "failing"
        assert [f["key"] for f in message["firing"]] == keys and message["resolved"] == []
        assert message["title"].startswith("4 problem(s): ")
        assert "[CRITICAL] grade: 2 dead events" in message["text"]

        later = now + dt.timedelta(minutes=5)
        again = run_monitor(store, channels, limits, now=later)
        assert again["sent"] == [] and again["held"] == keys and len(web.requests) == 1  # no storm

        # the endpoint is resumed and the backlog drains; 4 hours later the rest is reminded, the end announced
        from moodle_sync.outbox import eventlog

        eventlog.set_endpoint_state(store, "http://crm/api/v1/webhooks", "ok")
        store.execute("UPDATE moodle_sync_event_log SET status = 'sent', next_retry_at = NULL "
                      "WHERE status IN ('pending', 'failed')")
        store.commit()
        reminder_at = now + dt.timedelta(hours=4)
        for entity in ("grade", "enrolment"):  # (these keep syncing; users stay stalled)
            record_run(store, entity, reminder_at - dt.timedelta(minutes=5))
        reminder = run_monitor(store, channels, limits, now=reminder_at)
        assert reminder["sent"] == ["monitor:dead:grade", "monitor:stalled:user"]
        assert reminder["resolved"] == ["monitor:backlog:enrolment", "monitor:paused:http://crm/api/v1/webhooks"]
        message = web.requests[-1]["json"]
        assert [r["key"] for r in message["resolved"]] == reminder["resolved"]
        assert "[RESOLVED] endpoint http://crm/api/v1/webhooks is paused" in message["text"]

        # everything clears: one 'resolved' message, then silence
        store.execute("UPDATE moodle_sync_event_log SET status = 'sent' WHERE status = 'dead'")
        store.commit()
        record_run(store, "user", reminder_at)
        cleared = run_monitor(store, channels, limits, now=reminder_at + dt.timedelta(minutes=5))
        assert cleared["sent"] == [] and cleared["resolved"] == ["monitor:dead:grade", "monitor:stalled:user"]
        assert web.requests[-1]["json"]["severity"] == "resolved"
        assert web.requests[-1]["json"]["title"].startswith("resolved: grade: 2 dead events")
        assert run_monitor(store, channels, limits, now=reminder_at + dt.timedelta(minutes=10))["resolved"] == []
        assert len(web.requests) == 3
    assert store.query("SELECT COUNT(*) FROM moodle_sync_alert_state")[0][0] == 0


def test_when_every_channel_fails_the_run_fails_and_the_next_one_tries_again(store, caplog):
    from moodle_sync.ops.alerts import AlertDeliveryError
    from moodle_sync.ops.monitor import run_monitor

    now = dt.datetime.now(dt.timezone.utc)
    healthy_log(store, now)
    broken_log(store, now)
    with HttpSink(status=503) as down:
        with pytest.raises(AlertDeliveryError, match="all 1 alert channel"):
            run_monitor(store, [webhook_channel(down)], thresholds(), now=now)
    assert store.query("SELECT COUNT(*) FROM moodle_sync_alert_state")[0][0] == 0
    assert "alert channel ops_hook (webhook) failed: RuntimeError: HTTP 503" in caplog.text
    with HttpSink() as web:
        result = run_monitor(store, [webhook_channel(web)], thresholds(), now=now + dt.timedelta(minutes=5))
        assert len(result["sent"]) == 4 and len(web.requests) == 1


def test_without_a_channel_the_monitor_logs_its_alerts(store, caplog):
    from moodle_sync.ops.monitor import run_monitor

    now = dt.datetime.now(dt.timezone.utc)
    healthy_log(store, now)
    broken_log(store, now)
    assert len(run_monitor(store, [], thresholds(), now=now)["sent"]) == 4
    assert "no alert channel: 4 problem(s)" in caplog.text and "[CRITICAL] user: no successful sync" in caplog.text


# --- the DAG through Airflow ---------------------------------------------------------------------------------


def run_monitor_dag() -> str:
    from airflow.dag_processing.dagbag import DagBag

    run = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags["moodle_sync_monitor"].test()
    return str(getattr(run.state, "value", run.state))


@pytest.mark.slow  # DAG runs
def test_monitor_dag_alerts_by_mail_and_webhook_once_and_not_on_a_healthy_log(airflow_db, store, monkeypatch):
    now = dt.datetime.now(dt.timezone.utc)
    with SmtpSink() as smtp, HttpSink() as web:
        monkeypatch.setenv("AIRFLOW_CONN_OPS_MAIL", json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
            "extra": {"to": "ops@example.org", "starttls": False}}))
        monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", json.dumps({
            "conn_type": "http", "host": "127.0.0.1", "port": web.port, "schema": "http",
            "password": "monitor-token-123", "extra": {"endpoint": "/alerts"}}))
        monkeypatch.setenv("MOODLE_SYNC_ALERT_CONN_IDS", "ops_mail,ops_hook")

        healthy_log(store, now)
        assert run_monitor_dag() == "success"
        assert smtp.messages == [] and web.requests == []

        broken_log(store, now)
        assert run_monitor_dag() == "success"
        [mail] = smtp.messages
        [hook] = web.requests
        assert hook["headers"]["authorization"] == "Bearer monitor-token-123"
        body = hook["json"]
        assert {f["key"].split(":")[1] for f in body["firing"]} == {"dead", "paused", "stalled", "backlog"}
        assert mail["message"]["Subject"].startswith("[moodle-zoho-sync] 4 problem(s): ")
        assert mail["message"].get_content().replace("\r\n", "\n").strip() == body["text"]

        assert run_monitor_dag() == "success"  # the same conditions five minutes later: no new message
        assert len(smtp.messages) == 1 and len(web.requests) == 1


@pytest.mark.slow  # DAG runs
def test_monitor_dag_fails_when_no_channel_delivers(airflow_db, store, monkeypatch):
    now = dt.datetime.now(dt.timezone.utc)
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", json.dumps({"conn_type": "http", "host": "127.0.0.1",
                                                            "port": free_port(), "schema": "http"}))
    monkeypatch.setenv("MOODLE_SYNC_ALERT_CONN_IDS", "ops_hook")
    healthy_log(store, now)
    broken_log(store, now)
    assert run_monitor_dag() == "failed"  # red in the UI: the alerts did not reach anyone
