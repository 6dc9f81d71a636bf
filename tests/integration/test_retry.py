"""Delivery you can trust: leases, order, signatures, dead letters and replay, against a real receiver on loopback
and the event log on MariaDB and PostgreSQL (the retry policy's rules: tests/unit/test_retry.py)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_until
from support.helpers import add_events, events
from moodle_sync.outbox import eventlog
from moodle_sync.outbox.db import utcnow
from moodle_sync.delivery.webhook import EndpointPaused, WebhookSettings, deliver_due
from moodle_sync.delivery.policy import RetryPolicy

WORKER = Path(__file__).resolve().parents[1] / "support" / "deliver_worker.py"
FAST = RetryPolicy(base=dt.timedelta(milliseconds=50), cap=dt.timedelta(milliseconds=400), max_attempts=50)


def settings_for(receiver, **over):
    return WebhookSettings(base_url=receiver.url, **{"token": "test-token-123", **over})


#: A token with characters that URL-encoding and PHP's json_encode rewrite, so each echoed form differs.
SLASHED_TOKEN = "abc/def+ghi=tok"


def token_forms(token):
    from urllib.parse import quote

    return {token, quote(token, safe=""), token.replace("/", "\\/")}


def utc(value):
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def attempts(store):
    rows = store.query("SELECT event_id, attempt, http_status, outcome, error_class, response_excerpt, started_at, "
                       "next_retry_at, duration_ms FROM moodle_sync_delivery_attempt ORDER BY id")
    store.commit()
    names = ["event_id", "attempt", "http_status", "outcome", "error_class", "excerpt", "started_at", "next_retry_at",
             "duration_ms"]
    return [dict(zip(names, r), event_id=str(r[0]), started_at=utc(r[6]), next_retry_at=utc(r[7])) for r in rows]


# --- answers of a real receiver -----------------------------------------------------------------------------

@pytest.mark.parametrize("control, status, outcome, error_class, delay_band", [
    (dict(fail_status=500, fail_next=1), "failed", "retry", "http_5xx", (48, 72)),
    (dict(fail_status=503, fail_next=1, retry_after="120"), "failed", "retry", "throttled", (119, 122)),
    (dict(fail_status=429, fail_next=1, retry_after="90"), "failed", "retry", "throttled", (89, 92)),
    (dict(fail_status=400, fail_next=1), "dead", "dead", "http_4xx", None),
    (dict(fail_status=301, fail_next=1), "failed", "retry", "http_3xx", (48, 72)),
    (dict(delay_seconds=3, delay_next=1), "failed", "retry", "timeout", (48, 72)),
    (dict(reset_next=1), "failed", "retry", "network", (48, 72)),
])
def test_each_answer_lands_in_the_right_state(store, receiver, control, status, outcome, error_class, delay_band):
    add_events(store, "user", [(1, 1)])
    # error answers repeat the token (as is, URL-encoded, PHP-JSON-escaped) and run to 20 KB of multi-byte text
    receiver.state.control(**control, echo_token=True, long_body=20_000)
    settings = settings_for(receiver, timeout=1.0, token=SLASHED_TOKEN)
    before = utcnow()
    if error_class in ("timeout", "network"):  # no answer at all for every event: the task fails loudly
        with pytest.raises(ConnectionError, match="unreachable for all 1 events"):
            deliver_due(store, settings, entity="user", owner="t")
    else:
        assert deliver_due(store, settings, entity="user", owner="t").attempted == 1
    assert receiver.state.requests == 1  # one attempt; a 301 is not followed
    row = events(store, "user")[0]
    assert row["status"] == status and row["attempts"] == 1
    [attempt] = attempts(store)
    assert (attempt["outcome"], attempt["error_class"], attempt["attempt"]) == (outcome, error_class, 1)
    for stored in (attempt["excerpt"], row["last_error"]):
        assert stored and len(stored.encode()) <= 2048
        assert not [form for form in token_forms(SLASHED_TOKEN) if form in stored], stored
    if delay_band:
        wait = (utc(row["next_retry_at"]) - before).total_seconds()
        assert delay_band[0] <= wait <= delay_band[1] + 3, wait
        assert attempt["next_retry_at"] == utc(row["next_retry_at"])
    else:
        assert row["next_retry_at"] is None and row["last_error"].startswith("HTTP 400")


def test_410_pauses_the_endpoint_consumes_nothing_and_replay_resumes_it(store, receiver, monkeypatch):
    import json

    from moodle_sync.ops.replay import run_replay

    add_events(store, "user", [(k, 1) for k in range(1, 6)])
    receiver.state.control(fail_status=410, fail_next=100)
    settings = settings_for(receiver, concurrency=1, batch_size=5)
    with pytest.raises(EndpointPaused, match="410"):
        deliver_due(store, settings, owner="t")
    assert {(r["status"], r["attempts"]) for r in events(store, "user")} == {("pending", 0)}
    assert eventlog.endpoint_state(store, settings.endpoint_id)[0] == "paused"
    receiver.state.control()
    assert deliver_due(store, settings, owner="t").paused  # stays paused until resumed
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "password": "test-token-123"}))
    run_replay("moodle_sync_db", "moodle_sync_webhook", {"status": "dead", "dry_run": False, "resume_endpoint": True})
    assert deliver_due(store, settings, owner="t").sent == 5


def test_events_go_dead_after_max_attempts_and_replay_requeues_them_with_the_same_id(store, receiver):
    from moodle_sync.ops.replay import run_replay

    ids = add_events(store, "grade", [("3:4", 1), ("5:6", 1)], payload=lambda k: {
        "grade_id": 1, "userid": int(k.split(":")[0]), "itemid": int(k.split(":")[1]), "student_id": 1,
        "assignment_id": 1})
    receiver.state.control(fail_status=500, fail_next=1000)
    settings = settings_for(receiver, policy=RetryPolicy(base=dt.timedelta(milliseconds=20),
                                                         cap=dt.timedelta(milliseconds=50), max_attempts=3,
                                                         dedup_window=dt.timedelta(0)))  # no 10 s key memory
    for _ in range(20):
        deliver_due(store, settings, owner="t")
        if {r["status"] for r in events(store, "grade")} == {"dead"}:
            break
        time.sleep(0.06)
    rows = events(store, "grade")
    assert {(r["status"], r["attempts"]) for r in rows} == {("dead", 3)}
    assert len(attempts(store)) == 6

    dry = run_replay("moodle_sync_db", "moodle_sync_webhook", {"status": "dead", "dry_run": True})
    assert (dry["matched"], dry["requeued"]) == (2, 0)
    assert {r["status"] for r in events(store, "grade")} == {"dead"}
    receiver.state.control()
    done = run_replay("moodle_sync_db", "moodle_sync_webhook", {"event_ids": [ids[0]], "dry_run": False})
    assert done["requeued"] == 1
    assert deliver_due(store, settings, owner="t").sent == 1
    assert [d["event_id"] for d in receiver.state.deliveries] == [ids[0]]
    state = {r["event_id"]: (r["status"], r["attempts"]) for r in events(store, "grade")}
    assert state == {ids[0]: ("sent", 1), ids[1]: ("dead", 3)}


def test_max_age_sends_an_old_event_dead_after_its_next_failure(store, receiver):
    add_events(store, "user", [(1, 1)])
    store.execute("UPDATE moodle_sync_event_log SET budget_started_at = %(t)s",
                  {"t": store.ts(utcnow() - dt.timedelta(hours=80))})
    store.commit()
    receiver.state.control(fail_status=502, fail_next=1)
    deliver_due(store, settings_for(receiver), owner="t")
    assert events(store, "user")[0]["status"] == "dead"


# --- chaos, crash, concurrency ------------------------------------------------------------------------------

def test_chaos_every_event_arrives_never_early_and_in_order_per_key(store, receiver):
    keys = [(k % 40 + 1, s) for k in range(40) for s in (1, 2, 3)]  # 40 keys, 3 events each
    add_events(store, "user", sorted(keys, key=lambda x: x[1]))
    receiver.state.control(fail_rate=0.3, fail_status=500)
    receiver.state.random.seed(7)
    settings = settings_for(receiver, policy=FAST, concurrency=8, batch_size=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        deliver_due(store, settings, owner="chaos")
        if {r["status"] for r in events(store, "user")} <= {"sent", "superseded"}:
            break
        time.sleep(0.05)
    rows = events(store, "user")
    # an older event of a key still waiting when a newer one is due is superseded by it (tests/test_dedup.py)
    assert {r["status"] for r in rows} <= {"sent", "superseded"}
    assert {d["event_id"] for d in receiver.state.deliveries} == {r["event_id"] for r in rows if r["status"] == "sent"}
    assert all(r["status"] == "sent" for r in rows if r["sequence"] == 3)  # every key's newest
    by_event: dict[str, list] = {}
    for a in attempts(store):
        by_event.setdefault(a["event_id"], []).append(a)
    assert sum(len(v) for v in by_event.values()) > len(receiver.state.deliveries)  # failures really happened
    for tries in by_event.values():
        for earlier, later in zip(tries, tries[1:]):
            assert later["started_at"] >= earlier["next_retry_at"], "sent before its next_retry_at"
    arrivals: dict[str, list[int]] = {}
    for d in receiver.state.deliveries:
        arrivals.setdefault(d["entity_key"], []).append(d["sequence"])
    assert all(seqs == sorted(seqs) for seqs in arrivals.values()), arrivals


def _worker(url, lease, batch="40"):
    env = dict(os.environ, BATCH=batch)
    return subprocess.Popen([sys.executable, str(WORKER), url, str(lease)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


class _NoEventIdMemory(dict):
    """The real backend keeps no event_id memory (LEGACY_WEBHOOK.md): a resent event is applied again. A receiver
    that answers a resend "deduplicated" says "not applied, send it later" (tests/test_dedup.py)."""

    def __contains__(self, key):
        return False


@pytest.mark.slow  # deliverer processes
def test_kill_9_mid_batch_loses_nothing_and_keeps_event_ids(store, receiver):
    if isinstance(getattr(receiver.state, "events", None), dict):
        receiver.state.events = _NoEventIdMemory()
    ids = add_events(store, "user", [(k, 1) for k in range(1, 801)])
    receiver.state.control(delay_seconds=0.05, delay_next=100_000)  # a batch of 40 takes ~0.25 s on the wire
    rng = random.Random(3)
    for _ in range(4):
        before = receiver.state.requests
        proc = _worker(receiver.url, lease=2)
        # once this worker is sending (whatever its start-up took), kill it at a random point
        assert wait_until(lambda: receiver.state.requests > before + 5 or proc.poll() is not None, timeout=60)
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    time.sleep(2.2)  # the killed workers' leases run out
    proc = _worker(receiver.url, lease=2)
    assert proc.wait(timeout=120) == 0
    rows = events(store, "user")
    assert {r["status"] for r in rows} == {"sent"}
    assert {d["event_id"] for d in receiver.state.deliveries} == set(ids)  # same ids, none lost
    # the kills really cut batches: some requests reached the receiver but were never recorded
    assert receiver.state.requests > len(attempts(store))


@pytest.mark.slow  # deliverer processes
def test_four_deliverers_on_one_backlog_send_each_event_exactly_once(store, receiver):
    ids = add_events(store, "user", [(k, 1) for k in range(1, 1201)])
    procs = [_worker(receiver.url, lease=120, batch="25") for _ in range(4)]
    assert [p.wait(timeout=180) for p in procs] == [0, 0, 0, 0]
    assert receiver.state.requests == len(ids) == len(receiver.state.events)
    assert not any(d["duplicate"] for d in receiver.state.deliveries)
    worked = [int(p.stdout.read().strip().splitlines()[-1].split()[0]) for p in procs]
    assert sum(worked) == len(ids)


# --- signatures, profiles, TLS, rate -------------------------------------------------------------------------

def test_signatures_verify_with_standardwebhooks_including_a_rotated_secret(store, receiver):
    import base64

    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    old, new = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    settings = settings_for(receiver, signing_keys=(base64.b64decode(new), base64.b64decode(old)))
    ids = add_events(store, "user", [(1, 1), (2, 1)])
    assert deliver_due(store, settings, owner="t").sent == 2
    for headers, body in receiver.state.raw:
        for secret in (new, old):  # a receiver that only knows either secret verifies
            Webhook(f"whsec_{secret}").verify(body, {k: headers[k] for k in
                                                    ("webhook-id", "webhook-timestamp", "webhook-signature")})
        assert headers["webhook-id"] in ids
        with pytest.raises(WebhookVerificationError, match="No matching signature found"):
            Webhook("whsec_" + base64.b64encode(os.urandom(32)).decode()).verify(body, headers)


def test_standard_profile_body(store, receiver):
    import json

    add_events(store, "user", [(9, 1)])
    deliver_due(store, settings_for(receiver, payload_profile="standard"), owner="t")
    [(headers, raw)] = receiver.state.raw
    body = json.loads(raw)
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == "user.created"
    assert body["data"]["userid"] == 9 and body["timestamp"].endswith("Z")


@pytest.fixture
def tls_receiver(tmp_path):
    from demo.receiver import Receiver
    from support.sinks import self_signed_tls

    context, ca_file = self_signed_tls(tmp_path)
    r = Receiver(token="test-token-123")
    r.server.socket = context.wrap_socket(r.server.socket, server_side=True)
    with r:
        yield r, ca_file


def test_tls_is_verified_by_default_a_ca_bundle_works_and_verify_false_warns(store, tls_receiver, caplog):
    receiver, ca = tls_receiver
    url = f"https://127.0.0.1:{receiver.port}"
    add_events(store, "user", [(1, 1)])
    with pytest.raises(ConnectionError):
        deliver_due(store, WebhookSettings(base_url=url, token="test-token-123"), owner="t")
    assert attempts(store)[0]["error_class"] == "tls"
    store.execute("UPDATE moodle_sync_event_log SET next_retry_at = %(t)s", {"t": store.ts(utcnow())})
    store.commit()
    assert deliver_due(store, WebhookSettings(base_url=url, token="test-token-123", ca_bundle=ca), owner="t").sent == 1
    add_events(store, "user", [(2, 1)])
    with caplog.at_level(logging.WARNING):
        assert deliver_due(store, WebhookSettings(base_url=url, token="test-token-123", verify=False),
                           owner="t").sent == 1
    assert "TLS verification is OFF" in caplog.text


def test_rate_limit_spaces_requests(store, receiver):
    add_events(store, "user", [(k, 1) for k in range(1, 21)])
    started = time.monotonic()
    assert deliver_due(store, settings_for(receiver, rate_limit_per_second=40), owner="t").sent == 20
    assert time.monotonic() - started >= 19 / 40  # a lower bound only: slower machines pass too


def _rows_read(db) -> int:
    """Rows and index entries this MariaDB session has read so far (its Handler_read_* counters)."""
    rows = db.query("SHOW SESSION STATUS LIKE 'Handler_read%%'")
    return sum(int(value) for _, value in rows)


def _claim_rows_read_postgres(db, limit: int) -> int:
    """Rows PostgreSQL's plan of the claim reads (every scan node's rows, kept or filtered out, times its
    loops), from EXPLAIN ANALYZE of the claim's SELECT in a transaction that is then undone."""
    import json as _json

    plan = db.query("EXPLAIN (ANALYZE, FORMAT JSON) " + eventlog.claim_sql(db, None),
                    {"now": db.ts(utcnow()), "limit": limit})[0][0]
    db.rollback()
    plan = _json.loads(plan) if isinstance(plan, str) else plan

    def walk(node) -> int:
        own = 0
        if "Scan" in node["Node Type"]:
            own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                   + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


@pytest.mark.parametrize("dialect, analyzed", [("mysql", True), ("mysql", False), ("postgres", True)])
def test_a_claim_reads_rows_in_proportion_to_its_batch_not_to_the_pending_backlog(dialect, analyzed):
    """After an initial sync hundreds of thousands of events are pending. The claim's per-key order check must
    look up each candidate's earlier events by key: a plan that scanned the entity's pending events for each
    candidate (what MariaDB chose by itself with the status index of migration 006) read 92,000 rows per
    candidate and took 70 s a batch. Counted in rows read, not timed."""
    from conftest import fresh_database, scratch_db

    store = fresh_database(dialect, scratch_db("mzs_test_backlog"), "moodle_sync_db")
    try:
        eventlog.migrate(store)
        keys = 10_000
        add_events(store, "grade", [(f"{k}:1", seq) for k in range(keys) for seq in (1, 2)])  # 20,000 pending
        # as a sync that wrote this many does: without it PostgreSQL read 40,000 rows for this claim of 500.
        # MariaDB without it too (a log written by other means): the index hint of claim_key_index.sql holds
        # the plan; with neither it read 20 million.
        if analyzed:
            eventlog.refresh_statistics(store)
        if dialect == "mysql":
            idle = _rows_read(store)
            idle = _rows_read(store) - idle  # what reading the counters itself costs
            before = _rows_read(store)
        else:
            read = _claim_rows_read_postgres(store, 500)
        claimed = eventlog.claim_due(store, None, "test-owner", 500, dt.timedelta(minutes=5))  # the retry DAG's
        if dialect == "mysql":
            read = _rows_read(store) - before - idle
        # every key's first event, in due order, coalesced with its second (claimed instead, the first superseded)
        assert [(e["entity_key"], e["sequence"]) for e in claimed] == [(f"{k}:1", 2) for k in range(500)]
        assert claimed.superseded == 500
        assert read < 2 * keys, f"the claim of 500 read {read} rows of a backlog of {2 * keys}"
    finally:
        store.close()
