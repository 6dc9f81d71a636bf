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
    return WebhookSettings(base_url=receiver.url, **{"token": "test-token-123", **over})


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




# --- one bad answer or row fails that event, not the batch ---------------------------------------------------

def log_rows(store, entity):
    """The rows as stored, payloads left sealed (``events()`` opens them, and an altered one does not open)."""
    rows = store.query("SELECT event_id, entity_key, status, attempts, last_error, next_retry_at FROM "
                       "moodle_sync_event_log WHERE entity_type = %(e)s ORDER BY id", {"e": entity})
    store.commit()
    return [dict(zip(["event_id", "entity_key", "status", "attempts", "last_error", "next_retry_at"], r),
                 event_id=str(r[0])) for r in rows]


def attempt_rows(store):
    rows = store.query("SELECT event_id, outcome, error_class, response_excerpt FROM moodle_sync_delivery_attempt "
                       "ORDER BY id")
    store.commit()
    return [dict(zip(["event_id", "outcome", "error_class", "excerpt"], r), event_id=str(r[0])) for r in rows]


def stored_clean(text):
    """Fit for any table and page: no NUL, control or format character, at most 2 KB of UTF-8."""
    import unicodedata

    return len(text.encode()) <= 2048 and not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in text)


@pytest.mark.parametrize("control, error_class", [
    (dict(fail_status=503, retry_after="99999999999999"), "throttled"),  # OverflowError before
    (dict(fail_status=429, retry_after="\xc2\xb2"), "throttled"),  # '²' in UTF-8 on the wire: ValueError before
    (dict(fail_status=500, content_type="text/plain; charset=base64", error_body="no such charset"), "http_5xx"),
    (dict(fail_status=500, error_body="Error: \x00 NUL \x01\x1b[31m\x7f in the answer"), "http_5xx"),  # DataError
    (dict(fail_status=500, endless_body=True), "http_5xx"),  # 1 GB announced, streamed until the client hangs up
], ids=["retry-after-overflow", "retry-after-superscript", "unknown-charset", "nul-in-body", "endless-body"])
def test_one_bad_answer_fails_its_event_and_the_rest_of_the_batch_is_delivered(store, receiver, control, error_class):
    add_events(store, "user", [(k, 1) for k in range(1, 11)])
    receiver.state.control(fail_next=1, **control)
    result = deliver_due(store, entity="user", settings=settings_for(receiver, concurrency=4, batch_size=10),
                         owner="test")
    assert (result.attempted, result.sent, result.failed) == (10, 9, 1)
    rows = log_rows(store, "user")
    [bad] = [r for r in rows if r["status"] != "sent"]
    assert bad["status"] == "failed" and bad["last_error"].startswith(f"HTTP {control['fail_status']}")
    assert stored_clean(bad["last_error"])
    assert as_utc(bad["next_retry_at"]) <= utcnow() + dt.timedelta(hours=1, minutes=16)  # cap + grace at most
    [attempt] = [a for a in attempt_rows(store) if a["event_id"] == bad["event_id"]]
    assert attempt["error_class"] == error_class and stored_clean(attempt["excerpt"])
    assert len(attempt_rows(store)) == 10  # every outcome recorded, in one go
    # recorded: the next run re-sends nothing, not even the events the backend took
    requests = receiver.state.requests
    assert deliver_due(store, entity="user", settings=settings_for(receiver), owner="test").attempted == 0
    assert receiver.state.requests == requests == 10
    if control.get("endless_body"):  # the client read its 64 KiB and hung up, long before the gigabyte
        from conftest import wait_until

        assert wait_until(lambda: receiver.state.streamed)
        assert receiver.state.streamed[0] < 64 * 1024 * 1024, receiver.state.streamed


def _alter_payload(store, entity, key, change):
    [(stored,)] = store.query("SELECT payload FROM moodle_sync_event_log WHERE entity_type = %(e)s AND "
                              "entity_key = %(k)s", {"e": entity, "k": key})
    store.execute("UPDATE moodle_sync_event_log SET payload = %(p)s WHERE entity_type = %(e)s AND entity_key = %(k)s",
                  {"p": change(bytes(stored)), "e": entity, "k": key})
    store.commit()


def test_a_payload_that_does_not_decrypt_goes_dead_at_once_naming_its_event(store, receiver):
    users = add_events(store, "user", [(k, 1) for k in range(1, 6)])
    grades = add_events(store, "grade", [(f"{k}:1", 1) for k in range(1, 4)], payload=grade_payload)
    flip = lambda raw: raw[:-1] + bytes([raw[-1] ^ 1])  # one byte of the tag changed
    _alter_payload(store, "user", "3", flip)
    _alter_payload(store, "grade", "2:1", flip)  # a grade's payload is opened at the claim too (grade_items)
    result = deliver_due(store, settings=settings_for(receiver, concurrency=2), owner="test")
    assert (result.sent, result.dead) == (6, 2)
    for entity, ids, bad_key in (("user", users, "3"), ("grade", grades, "2:1")):
        rows = {r["entity_key"]: r for r in log_rows(store, entity)}
        bad = rows.pop(bad_key)
        assert (bad["status"], bad["next_retry_at"]) == ("dead", None)
        assert bad["event_id"] in bad["last_error"] and "does not decrypt" in bad["last_error"]
        assert {r["status"] for r in rows.values()} == {"sent"}
        assert bad["event_id"] not in {d["event_id"] for d in receiver.state.deliveries}  # never sent
        [attempt] = [a for a in attempt_rows(store) if a["event_id"] == bad["event_id"]]
        assert (attempt["outcome"], attempt["error_class"]) == ("dead", "payload")
    assert receiver.state.requests == 6


def test_a_payload_under_a_missing_key_is_given_back_and_the_rest_is_recorded(store, receiver):
    from cryptography.fernet import Fernet

    from moodle_sync.config import ConfigError
    from moodle_sync.outbox.crypto import PayloadCipher, key_id, parse_keys

    ids = add_events(store, "user", [(k, 1) for k in range(1, 6)])
    other = parse_keys(Fernet.generate_key().decode())[0]
    _alter_payload(store, "user", "4", lambda raw: PayloadCipher((other,)).seal(b'{"userid": 4}', ids[3]))
    with pytest.raises(ConfigError, match=key_id(other)):
        deliver_due(store, entity="user", settings=settings_for(receiver), owner="test")
    rows = {r["entity_key"]: r for r in log_rows(store, "user")}
    assert (rows["4"]["status"], rows["4"]["attempts"]) == ("pending", 0)  # untouched, for when the key is back
    assert {rows[k]["status"] for k in "1235"} == {"sent"} and receiver.state.requests == 4
    # given back, not held: the next run claims it again (and stops again)
    with pytest.raises(ConfigError):
        deliver_due(store, entity="user", settings=settings_for(receiver), owner="test")
    assert receiver.state.requests == 4


# --- no personal data in clear in the event log, even in the backend's answers -----------------------------

PERSON = {"username": "jdoe.private", "email": "jane.doe.private@example.org", "firstname": "Janeprivate",
          "lastname": "Doeprivate"}


def test_a_422_that_echoes_the_body_leaves_no_personal_data_in_any_table_or_log(store, receiver, caplog):
    """The legacy backend is FastAPI: its 422 repeats the whole request body in ``detail[].input``."""
    from moodle_sync.ops.replay import run_replay

    token = "abc/def+ghi=tok"
    ids = add_events(store, "user", [(k, 1) for k in range(1, 5)], payload=lambda k: {"userid": int(k), **PERSON})
    receiver.state.control(reject_next=1, echo_token=True)
    with caplog.at_level("DEBUG"):
        result = deliver_due(store, entity="user", settings=settings_for(receiver, token=token, concurrency=1),
                             owner="test")
        assert (result.sent, result.dead) == (3, 1)
        [answered] = [r for r in receiver.state.received if r["status"] == 422]
        [dead] = [r for r in log_rows(store, "user") if r["status"] == "dead"]
        assert dead["event_id"] == answered["event_id"] in ids
        # what is kept: the status and where the backend's model failed, in our words
        assert dead["last_error"].startswith("HTTP 422: validation error at body.webhook_version (missing)")
        run_replay("moodle_sync_db", "moodle_sync_webhook", {"status": "dead", "dry_run": True})
    assert dead["event_id"] in caplog.text  # the replay DAG logged the dead event...
    tables = ["moodle_sync_event_log", "moodle_sync_delivery_attempt", "moodle_sync_endpoint_state"]
    kept = []
    for table in tables:  # every text column of every row, payloads aside (sealed)
        rows = store.query(f"SELECT * FROM {table}")
        kept += [str(v) for row in rows for v in row if isinstance(v, str)]
    store.commit()
    assert any("HTTP 422" in v for v in kept)  # the search does read the stored reasons
    for text in kept + [caplog.text]:  # ...and neither it nor any table holds the echoed body or token
        for secret in [*PERSON.values(), token, "abc%2Fdef", "abc\\/def"]:
            assert secret not in text, (secret, text[:300])


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_the_upgrade_removes_answer_text_an_older_version_stored(dialect):
    """Migration 010: a log that an older version filled with the backend's 422 (the body echoed) keeps its status."""
    from conftest import fresh_database, scratch_db
    from moodle_sync.outbox import eventlog
    from moodle_sync.outbox.sql import migrations, split_statements

    old = fresh_database(dialect, scratch_db("mzs_test_answers"), "moodle_sync_db")
    try:
        old.execute(old.sql("eventlog", "migrations_table"))
        for version, name, body in migrations(dialect):  # the event log as version 009 left it
            if version < 10:
                for statement in split_statements(body):
                    old.execute(statement)
                old.execute(old.sql("eventlog", "record_migration"), {"version": version, "name": name})
        echoed = 'HTTP 422: {"detail": [{"input": {"email": "jane.doe.private@example.org"}}]}'
        [eid] = add_events(old, "user", [(1, 1)])
        old.execute("UPDATE moodle_sync_event_log SET status = 'dead', last_error = %(e)s", {"e": echoed})
        old.execute("INSERT INTO moodle_sync_delivery_attempt (event_id, attempt, started_at, duration_ms, http_status, "
                    "outcome, error_class, response_excerpt) VALUES (%(id)s, 1, %(t)s, 5, 422, 'dead', 'http_4xx', "
                    "%(e)s), (%(id)s, 2, %(t)s, 5, 200, 'retry', 'deduplicated', %(d)s), (%(id)s, 3, %(t)s, 5, NULL, "
                    "'retry', 'network', 'network: ClientConnectorError: refused')",
                    {"id": eid, "t": old.ts(utcnow()), "e": echoed, "d": '{"message": "Duplicate for jane"}'})
        eventlog.set_endpoint_state(old, "http://crm/api", "paused", 'HTTP 401: {"detail": "jane.doe.private"}')
        assert eventlog.migrate(old) == [v for v, _, _ in migrations(dialect) if v >= 10]
        [(last_error,)] = old.query("SELECT last_error FROM moodle_sync_event_log")
        excerpts = [r[0] for r in old.query("SELECT response_excerpt FROM moodle_sync_delivery_attempt ORDER BY attempt")]
        old.commit()
        assert last_error == "HTTP 422 (answer not kept: it may echo the payload)"
        assert excerpts == ["HTTP 422 (answer not kept: it may echo the payload)", "deduplicated (answer not kept)",
                            "network: ClientConnectorError: refused"]  # the sync's own words stay
        assert eventlog.endpoint_state(old, "http://crm/api") == (
            "paused", "HTTP 401 (answer not kept: it may echo the payload)")
    finally:
        old.close()


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
    assert state == "paused" and "401" in reason, reason
    stored = store.query("SELECT last_error FROM moodle_sync_event_log") + store.query(
        "SELECT * FROM moodle_sync_delivery_attempt")
    store.commit()
    text = reason + repr(stored)
    assert [f for f in forms if f in text] == []
    assert answered["status"] == 401
