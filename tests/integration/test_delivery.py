"""Delivery against a real HTTP receiver on loopback, with the event log on MariaDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest

from support.helpers import add_events, events
from moodle_sync.outbox.db import utcnow
from moodle_sync.delivery.webhook import WebhookSettings, deliver_due, settings_from_connection


def settings_for(receiver, **over):
    return WebhookSettings(base_url=receiver.url, token="test-token-123", **over)


def grade_payload(key):
    user, item = (int(x) for x in key.split(":"))
    return {"grade_id": user * 100 + item, "userid": user, "itemid": item, "student_id": user, "assignment_id": item}


def as_utc(value):
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def test_every_event_arrives_once_with_its_event_id_and_the_bearer_token(store, receiver):
    ids = add_events(store, "user", [(k, 1) for k in range(1, 301)])
    result = deliver_due(store, entity="user", settings=settings_for(receiver, batch_size=120), owner="test")
    assert (result.attempted, result.sent, result.failed) == (300, 300, 0)
    got = receiver.state.deliveries
    assert sorted(d["event_id"] for d in got) == sorted(ids)
    assert all(d["authorization"] == "Bearer test-token-123" and not d["duplicate"] for d in got)
    rows = events(store, "user")
    assert {r["status"] for r in rows} == {"sent"} and {r["attempts"] for r in rows} == {1}
    assert all(r["sent_at"] is not None and r["last_http_status"] == 200 for r in rows)
    # nothing is due any more: a second delivery sends nothing
    assert deliver_due(store, entity="user", settings=settings_for(receiver), owner="test").attempted == 0


def test_a_failing_endpoint_marks_events_failed_with_next_retry_in_the_jitter_band(store, receiver):
    add_events(store, "grade", [(f"{k}:1", 1) for k in range(1, 41)], payload=grade_payload)
    receiver.state.control(fail_status=500, fail_next=1000)
    before = utcnow()
    result = deliver_due(store, entity="grade", settings=settings_for(receiver), owner="test")
    assert (result.sent, result.failed) == (0, 40)  # reachable (500s): no exception
    for row in events(store, "grade"):
        assert row["status"] == "failed" and row["attempts"] == 1 and row["last_http_status"] == 500
        assert row["last_error"].startswith("HTTP 500")
        delay = (as_utc(row["next_retry_at"]) - before).total_seconds()
        assert 48 - 1 <= delay <= 72 + 5, delay  # 60 s +- 20 %, plus the test's own run time
    # not due yet: the failed events are not retried early
    assert deliver_due(store, entity="grade", settings=settings_for(receiver), owner="test").attempted == 0


def test_a_wrong_token_pauses_the_endpoint_without_consuming_the_event(store):
    """The legacy backend checks no token today; a version that does (the contract allows it) answers 401."""
    from moodle_sync.outbox import eventlog
    from moodle_sync.delivery.webhook import EndpointPaused
    from demo.receiver import Receiver

    add_events(store, "user", [(1, 1)])
    with Receiver(token="test-token-123", require_token=True) as receiver:
        settings = WebhookSettings(base_url=receiver.url, token="wrong")
        with pytest.raises(EndpointPaused, match="401"):
            deliver_due(store, entity="user", settings=settings, owner="test")
        row = events(store, "user")[0]
        assert (row["status"], row["attempts"]) == ("pending", 0) and not receiver.state.events
        assert eventlog.endpoint_state(store, settings.endpoint_id)[0] == "paused"
        # paused: later runs send nothing, and say so
        assert deliver_due(store, entity="user", settings=settings_for(receiver), owner="test").paused


def test_an_unreachable_endpoint_fails_the_task_loudly_and_keeps_the_events(store):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    add_events(store, "enrolment", [(k, 1) for k in range(1, 11)])
    with pytest.raises(ConnectionError, match="unreachable for all 10 events"):
        deliver_due(store, entity="enrolment", settings=WebhookSettings(base_url=f"http://127.0.0.1:{port}", connect_timeout=2),
                    owner="test")
    rows = events(store, "enrolment")
    assert len(rows) == 10 and {r["status"] for r in rows} == {"failed"}
    assert all(r["last_error"].startswith("network") and r["last_http_status"] is None for r in rows)


def test_some_failures_do_not_fail_the_task(store, receiver):
    add_events(store, "user", [(k, 1) for k in range(1, 51)])
    receiver.state.control(fail_status=503, fail_next=5)
    result = deliver_due(store, entity="user", settings=settings_for(receiver, concurrency=1), owner="test")
    assert (result.sent, result.failed) == (45, 5)


def test_a_keys_later_event_waits_while_an_earlier_one_is_failed(store, receiver):
    add_events(store, "grade", [("7:9", 1), ("8:9", 1)], payload=grade_payload)
    receiver.state.control(fail_status=500, fail_next=1)  # the first request (7:9 seq 1, oldest) fails
    deliver_due(store, entity="grade", settings=settings_for(receiver, concurrency=1), owner="test")
    add_events(store, "grade", [("7:9", 2)], payload=grade_payload)  # a change of 7:9 while seq 1 waits to retry
    deliver_due(store, entity="grade", settings=settings_for(receiver, concurrency=1), owner="test")
    state = {(r["entity_key"], r["sequence"]): r["status"] for r in events(store, "grade")}
    assert state == {("7:9", 1): "failed", ("7:9", 2): "pending", ("8:9", 1): "sent"}
    # once seq 1 is due again, the key's newest goes in its place (coalescing, tests/test_dedup.py): seq 2 is sent
    # and seq 1, never applied, is superseded by it
    store.execute("UPDATE moodle_sync_event_log SET next_retry_at = %(t)s WHERE status = 'failed'",
                  {"t": store.ts(utcnow() - dt.timedelta(seconds=1))})
    store.commit()
    deliver_due(store, entity="grade", settings=settings_for(receiver), owner="test")
    arrived = [d["sequence"] for d in receiver.state.deliveries if d["entity_key"] == "7:9"]
    assert arrived == [2]
    state = {(r["entity_key"], r["sequence"]): r["status"] for r in events(store, "grade")}
    assert state == {("7:9", 1): "superseded", ("7:9", 2): "sent", ("8:9", 1): "sent"}


def test_connection_extras_never_reach_the_wire_as_headers(store, receiver, monkeypatch):
    extras = {"payload_profile": "legacy", "timeout": 20, "connect_timeout": 5, "concurrency": 4, "verify": True,
              "batch_size": 50, "endpoint": "/api/v1/webhooks", "retry_base_seconds": 30, "retry_cap_seconds": 600,
              "retry_jitter": 0.1, "max_attempts": 5, "max_age_hours": 24, "rate_limit_per_second": 500,
              "signing_secrets": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=",
              "ca_bundle": "/etc/ssl/certs/ca-certificates.crt", "lease_seconds": 600}
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "schema": "http",
        "password": "test-token-123", "extra": extras}))
    settings = settings_from_connection("moodle_sync_webhook")
    assert (settings.timeout, settings.concurrency, settings.batch_size) == (20, 4, 50)
    assert "test-token-123" not in repr(settings)
    add_events(store, "user", [(1, 1), (2, 1)])
    assert deliver_due(store, entity="user", settings=settings, owner="test").sent == 2
    assert settings.policy.max_attempts == 5 and len(settings.signing_keys) == 2
    for delivery in receiver.state.deliveries:
        assert not set(delivery["header_names"]) & {k.lower() for k in extras}
        assert delivery["authorization"] == "Bearer test-token-123"
    for headers, body in receiver.state.raw:  # no secret anywhere on the wire but the bearer token
        wire = (str(headers) + body.decode()).replace("Bearer test-token-123", "")
        assert "whsec_" not in wire and "test-token-123" not in wire




def test_a_token_echoed_in_any_form_never_reaches_the_endpoint_state_or_the_log(store):
    """The backend answers 401 and echoes the bearer token as sent, URL-encoded and as PHP's json_encode writes
    it (``\\/``): the pause reason, the event's last error and the attempt rows hold none of them."""
    from urllib.parse import quote

    from moodle_sync.outbox import eventlog
    from moodle_sync.delivery.webhook import EndpointPaused
    from demo.receiver import Receiver

    sent = "wrong/tok+en=="
    forms = [sent, quote(sent, safe=""), sent.replace("/", "\\/")]
    add_events(store, "user", [(1, 1)])
    with Receiver(token="test-token-123", require_token=True) as receiver:
        receiver.state.control(echo_token=True)
        settings = WebhookSettings(base_url=receiver.url, token=sent)
        with pytest.raises(EndpointPaused, match="401"):
            deliver_due(store, entity="user", settings=settings, owner="test")
        answered = receiver.state.received[-1]
    state, reason = eventlog.endpoint_state(store, settings.endpoint_id)
    assert state == "paused" and "401" in reason and "***" in reason, reason
    stored = store.query("SELECT last_error FROM moodle_sync_event_log") + store.query(
        "SELECT * FROM moodle_sync_delivery_attempt")
    store.commit()
    text = reason + repr(stored)
    assert [f for f in forms if f in text] == []
    assert answered["status"] == 401
