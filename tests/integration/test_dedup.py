"""Nothing lost to the backend's 10-second key memory (issue 11, ../shared/contracts/LEGACY_WEBHOOK.md
"Responses"): several waiting changes of one key send only the newest (the older ones superseded, kept in the
log), an answer ``deduplicated`` is retried after the window, a failed request's retry waits the window out,
and the attempt rows keep the backend's ``action``; on MariaDB and PostgreSQL, with one and with two deliverers.

The backend here is this file's own loopback server (``KeyMemoryBackend``), not demo/receiver.py, so that these
tests do not depend on the receiver being rewritten in parallel: it remembers each grade key
``{student_id}_{course_id}_{assignment_id}`` for ``window`` seconds from the START of a request (a failed one
too), answers a second ``grade_updated`` of that key inside the window 200 ``{"action": "deduplicated"}`` without
applying it, and keeps a CRM dict per key, as the real backend does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.helpers import add_events, events
from support.sinks import _ServedSink
from moodle_sync.delivery.policy import DEDUP_MARGIN, RetryPolicy
from moodle_sync.delivery.webhook import Answer, WebhookSettings, _outcomes, answer_action, deliver_due
from moodle_sync.outbox import eventlog
from moodle_sync.outbox.db import utcnow

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 10.0  # the real backend's memory
FAST = RetryPolicy(base=dt.timedelta(milliseconds=50), cap=dt.timedelta(milliseconds=400), max_attempts=50)


class KeyMemoryBackend(_ServedSink):
    """The legacy backend's webhook as far as its key memory goes, on a loopback port, served by a thread."""

    def __init__(self, window: float = WINDOW, work_seconds: float = 0.0):
        self.window, self.work_seconds = window, work_seconds
        self.lock = threading.Lock()
        self.memory: dict[str, float] = {}  # key -> monotonic start of the last request that was not deduplicated
        self.crm: dict[str, dict] = {}  # key -> {"event_id", "event_data"} of the last applied grade
        self.log: list[dict] = []  # every request: event_id, key, status, action
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []  # keys that had two requests at once
        self.fail_next = 0  # answer the next N grade requests 500 (after remembering their key, like the backend)
        self.retry_after: str | None = None
        self.padding = 0  # bytes of filler after "action" in the answers to other types
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                status, answer, headers = backend.handle(body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, body: dict) -> tuple[int, dict, dict]:
        event_id, event_type, data = body["event_id"], body["event_type"], body["event_data"]
        if event_type != "grade_updated":
            with self.lock:
                self.log.append({"event_id": event_id, "key": None, "status": 200, "action": "created"})
            return 200, {"success": True, "event_id": event_id, "action": "created", "filler": "x" * self.padding}, {}
        key = f"{data.get('student_id', data.get('userid'))}_{data.get('course_id', data.get('courseid'))}_" \
              f"{data.get('assignment_id')}"
        started = time.monotonic()
        with self.lock:
            last = self.memory.get(key)
            if last is not None and started - last < self.window:
                self.log.append({"event_id": event_id, "key": key, "status": 200, "action": "deduplicated"})
                return 200, {"success": True, "event_id": event_id, "message": "duplicate",
                             "processed_at": "", "action": "deduplicated"}, {}
            self.memory[key] = started  # from the moment the request starts, even if processing then fails
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            if self.in_flight[key] > 1:
                self.overlaps.append(key)
            fail = self.fail_next > 0
            self.fail_next -= fail
        try:
            time.sleep(self.work_seconds)  # the CRM round trips
            with self.lock:
                if fail:
                    self.log.append({"event_id": event_id, "key": key, "status": 500, "action": None})
                    return 500, {"detail": "Error: CRM unreachable"}, (
                        {"Retry-After": self.retry_after} if self.retry_after else {})
                action = "updated" if key in self.crm else "created"
                self.crm[key] = {"event_id": event_id, "event_data": data}
                self.log.append({"event_id": event_id, "key": key, "status": 200, "action": action})
                return 200, {"success": True, "event_id": event_id, "message": "ok", "processed_at": "",
                             "action": action}, {}
        finally:
            with self.lock:
                self.in_flight[key] -= 1

    def applied(self, event_id: str) -> int:
        return sum(1 for r in self.log if r["event_id"] == event_id and r["action"] in ("created", "updated"))

    def requests_for(self, key: str) -> list[dict]:
        return [r for r in self.log if r["key"] == key]


@pytest.fixture
def backend():
    with KeyMemoryBackend() as b:
        yield b


def grade(user: int, course: int = 4, assignment: int = 3):
    """A mod_assign grade's payload, as the grade entity stores it (enough for the legacy body and its key)."""
    def payload(key):
        return {"grade_id": user * 100 + assignment, "userid": user, "courseid": course, "itemid": 20 + assignment,
                "iteminstance": assignment, "assignment_id": assignment, "item_type": "mod", "item_module": "assign",
                "item_name": f"Assignment {assignment}", "finalgrade_numeric": 50.0, "user_fullname": f"User {user}",
                "course_name": f"Course {course}"}
    return payload


def settings_for(backend, **over):
    over.setdefault("policy", RetryPolicy(dedup_window=dt.timedelta(seconds=backend.window)))
    return WebhookSettings(base_url=backend.url, token="test-token-123", **over)


def utc(value):
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def attempt_rows(store, event_id=None):
    sql = ("SELECT event_id, attempt, started_at, duration_ms, http_status, outcome, error_class, next_retry_at, "
           "action FROM moodle_sync_delivery_attempt")
    rows = store.query(sql + (" WHERE event_id = %(e)s" if event_id else "") + " ORDER BY id",
                       {"e": event_id} if event_id else None)
    store.commit()
    names = ["event_id", "attempt", "started_at", "duration_ms", "http_status", "outcome", "error_class",
             "next_retry_at", "action"]
    return [dict(zip(names, r), event_id=str(r[0]), started_at=utc(r[2]), next_retry_at=utc(r[7])) for r in rows]


def log_row(store, event_id):
    rows = store.query("SELECT status, attempts, deduplicated, next_retry_at, last_error, last_http_status "
                       "FROM moodle_sync_event_log WHERE event_id = %(e)s", {"e": event_id})
    store.commit()
    status, attempts, deduplicated, next_retry_at, last_error, http = rows[0]
    return {"status": status, "attempts": attempts, "deduplicated": deduplicated, "next_retry_at": utc(next_retry_at),
            "last_error": last_error, "last_http_status": http}


def wait_for(moment: dt.datetime) -> None:
    time.sleep(max(0.0, (moment - utcnow()).total_seconds()) + 0.05)


# --- coalescing ---------------------------------------------------------------------------------------------

def test_changes_of_one_key_due_together_send_only_the_newest_and_keep_the_older_as_superseded(store, backend):
    from moodle_sync.ops import health
    from moodle_sync.ui import queries

    older = add_events(store, "grade", [("43:23", 1), ("43:23", 2)], payload=grade(43))
    newest, = add_events(store, "grade", [("43:23", 3)], payload=grade(43))
    other, = add_events(store, "grade", [("44:23", 1)], payload=grade(44))
    result = deliver_due(store, settings_for(backend), entity="grade", owner="t")
    assert (result.sent, result.superseded, result.deduplicated) == (2, 2, 0)
    # one request per key: the newest; the backend never had to deduplicate anything
    assert [r["event_id"] for r in backend.requests_for("43_4_3")] == [newest]
    assert backend.crm["43_4_3"]["event_id"] == newest and backend.crm["44_4_3"]["event_id"] == other
    rows = {r["event_id"]: r for r in events(store, "grade")}
    assert len(rows) == 4  # nothing deleted
    for event_id in older:
        row = log_row(store, event_id)
        assert (row["status"], row["attempts"], row["next_retry_at"]) == ("superseded", 0, None)
        assert row["last_error"].startswith(f"superseded by {newest}")
        assert attempt_rows(store, event_id) == []
    assert rows[newest]["status"] == rows[other]["status"] == "sent"
    # a superseded event is final: no replay requeues it, no later delivery sends it
    assert eventlog.find_replayable(store, event_ids=older, status=None) == []
    assert eventlog.requeue(store, [r["id"] for r in store_ids(store, older)]) == 0
    assert deliver_due(store, settings_for(backend), owner="t").attempted == 0
    assert len(backend.log) == 2
    # visible like the other statuses: health counts, the event browser's filter
    snap = health.snapshot(store)
    assert snap["entities"]["grade"]["superseded"] == 2 and snap["entities"]["grade"]["sent"] == 2
    found = queries.search_events(store, status="superseded")
    assert sorted(e["event_id"] for e in found) == sorted(older)
    # and they leave with the sent ones at the end of the retention period
    from moodle_sync.ops.maintenance import purge_sent

    assert purge_sent(store, older_than_days=30) == 0
    assert purge_sent(store, older_than_days=30, now=utcnow() + dt.timedelta(days=31)) == 4


def store_ids(store, event_ids):
    rows = store.query("SELECT id FROM moodle_sync_event_log WHERE event_id IN %(ids)s" if store.dialect == "mysql"
                       else "SELECT id FROM moodle_sync_event_log WHERE event_id::text = ANY(%(ids)s)",
                       {"ids": store.bind_list(list(event_ids))})
    store.commit()
    return [{"id": r[0]} for r in rows]


def test_a_delete_or_another_type_is_a_change_of_the_key_too_and_the_newest_wins(store, backend):
    first, = add_events(store, "grade", [("50:23", 1)], payload=grade(50))
    second, = add_events(store, "grade", [("50:23", 2)], payload=grade(50))
    store.execute("UPDATE moodle_sync_event_log SET event_type = 'grade.deleted' WHERE event_id = %(e)s",
                  {"e": second})
    store.commit()
    deliver_due(store, settings_for(backend), entity="grade", owner="t")
    assert [r["event_id"] for r in backend.log] == [second]
    assert log_row(store, first)["status"] == "superseded" and log_row(store, second)["status"] == "sent"


def test_coalescing_can_be_turned_off_per_connection(store, backend):
    ids = add_events(store, "user", [("7", 1), ("7", 2)])
    result = deliver_due(store, settings_for(backend, coalesce=False), entity="user", owner="t")
    assert (result.sent, result.superseded) == (2, 0)  # one after the other (head of line), as before
    assert [log_row(store, i)["status"] for i in ids] == ["sent", "sent"]
    assert [r["event_id"] for r in backend.log] == ids


def test_a_newest_event_waiting_for_its_retry_is_not_sent_early(store, backend):
    """A key whose newest event is failed with a retry ahead (an older one replayed behind it): the older one is
    superseded, the newest keeps its retry time."""
    old, new = add_events(store, "user", [("9", 1), ("9", 2)])
    later = utcnow() + dt.timedelta(minutes=5)
    store.execute("UPDATE moodle_sync_event_log SET status = 'failed', attempts = 1, next_retry_at = %(t)s "
                  "WHERE event_id = %(e)s", {"t": store.ts(later), "e": new})
    store.commit()
    result = deliver_due(store, settings_for(backend), entity="user", owner="t")
    assert (result.attempted, result.superseded) == (0, 1) and backend.log == []
    assert log_row(store, old)["status"] == "superseded"
    row = log_row(store, new)
    assert row["status"] == "failed" and abs((row["next_retry_at"] - later).total_seconds()) < 1


# --- deduplicated is not success ------------------------------------------------------------------------------

def test_a_change_inside_the_window_is_deduplicated_then_resent_after_it_and_the_crm_ends_right(store, backend):
    first, = add_events(store, "grade", [("43:23", 1)], payload=grade(43))
    deliver_due(store, settings_for(backend), entity="grade", owner="t")
    second, = add_events(store, "grade", [("43:23", 2)], payload=grade(43))
    result = deliver_due(store, settings_for(backend), entity="grade", owner="t")
    assert (result.sent, result.deduplicated, result.failed, result.dead) == (0, 1, 0, 0)
    assert backend.crm["43_4_3"]["event_id"] == first  # the backend dropped it
    row = log_row(store, second)
    assert (row["status"], row["attempts"], row["deduplicated"], row["last_http_status"]) == ("pending", 1, 1, 200)
    assert row["last_error"].startswith("deduplicated")
    [dedup] = attempt_rows(store, second)
    assert (dedup["outcome"], dedup["error_class"], dedup["action"], dedup["http_status"]) == (
        "retry", "deduplicated", "deduplicated", 200)
    # not before the backend's window of that request (+ margin) is over
    window = dt.timedelta(seconds=WINDOW) + DEDUP_MARGIN
    assert row["next_retry_at"] >= dedup["started_at"] + window
    assert row["next_retry_at"] == dedup["next_retry_at"]
    assert deliver_due(store, settings_for(backend), owner="t").attempted == 0  # not due yet
    wait_for(row["next_retry_at"])
    result = deliver_due(store, settings_for(backend), owner="t")
    assert (result.sent, result.deduplicated) == (1, 0)
    assert backend.crm["43_4_3"]["event_id"] == second  # the CRM ends with the newest value
    assert [r["action"] for r in backend.requests_for("43_4_3")] == ["created", "deduplicated", "updated"]
    row = log_row(store, second)
    assert (row["status"], row["attempts"], row["deduplicated"]) == ("sent", 2, 1)
    # the attempt rows keep the backend's action
    assert [(a["attempt"], a["action"], a["outcome"]) for a in attempt_rows(store)] == [
        (1, "created", "sent"), (1, "deduplicated", "retry"), (2, "updated", "sent")]


def test_a_failed_request_then_a_quick_retry_loses_nothing(store, backend):
    """The backend remembers the key of a request that then failed: the policy's retry waits the window out
    even when Retry-After (1 s) and the backoff (50 ms) say sooner; a replay sent inside the window gets
    ``deduplicated`` and is resent after it."""
    event, = add_events(store, "grade", [("43:23", 1)], payload=grade(43))
    backend.fail_next, backend.retry_after = 1, "1"
    settings = settings_for(backend, policy=RetryPolicy(base=dt.timedelta(milliseconds=50), max_attempts=3,
                                                        dedup_window=dt.timedelta(seconds=WINDOW)))
    assert deliver_due(store, settings, entity="grade", owner="t").failed == 1
    row = log_row(store, event)
    [failed] = attempt_rows(store, event)
    assert row["status"] == "failed" and failed["http_status"] == 500 and failed["action"] is None
    assert row["next_retry_at"] >= failed["started_at"] + dt.timedelta(seconds=WINDOW) + DEDUP_MARGIN
    assert deliver_due(store, settings, owner="t").attempted == 0
    # an operator's replay right away: inside the window, so deduplicated, and not lost
    assert eventlog.requeue(store, [r["id"] for r in store_ids(store, [event])]) == 1
    result = deliver_due(store, settings, owner="t")
    assert (result.attempted, result.deduplicated, result.sent) == (1, 1, 0)
    assert "43_4_3" not in backend.crm
    wait_for(log_row(store, event)["next_retry_at"])
    assert deliver_due(store, settings, owner="t").sent == 1
    assert backend.crm["43_4_3"]["event_id"] == event
    assert [r["status"] for r in backend.requests_for("43_4_3")] == [500, 200, 200]
    assert [r["action"] for r in backend.requests_for("43_4_3")] == [None, "deduplicated", "created"]


def test_answers_deduplicated_never_spend_the_budget_but_its_age_still_holds():
    """Unit: an event that was deduplicated many times stays within its attempt budget; only max_age ends it."""

    class Store:
        def ts(self, value):
            return value

    class Result:
        attempted = sent = failed = dead = deduplicated = unreachable = 0
        statuses: dict = {}

    policy = RetryPolicy(max_attempts=3)
    now = utcnow()

    def outcome(status, action, *, deduplicated=29, age=dt.timedelta(hours=1)):
        event = {"id": 1, "event_id": "e", "event_type": "grade.updated", "attempts": 30,
                 "deduplicated": deduplicated, "budget_started_at": now - age}
        answer = Answer(status, None, None, None, now, 5, action)
        out, _, _ = _outcomes([event], [answer], Store(), policy, Result(), None, None, ("grade.",))
        return next(k for k in ("sent", "failed", "deduplicated", "dead") if out[k]), out

    kind, out = outcome(200, "deduplicated")
    assert kind == "deduplicated"  # 30 requests, 29 of them deduplicated: 1 of 3 attempts spent
    assert out["attempts"][0][1] == 31 and out["attempts"][0][-1] == "deduplicated"
    # the 30th deduplication of one event waits the usual backoff, not only the window: it never hammers
    assert out["deduplicated"][0]["next_retry_at"] >= now + dt.timedelta(minutes=48)
    assert outcome(500, None)[0] == "failed"  # 2 of 3 spent
    assert outcome(500, None, deduplicated=28)[0] == "dead"  # 3 of 3 spent
    assert outcome(200, "deduplicated", age=dt.timedelta(hours=73))[0] == "dead"  # past max_age
    assert outcome(200, "updated")[0] == "sent"
    assert RetryPolicy().after_deduplicated(now, 1) == now + dt.timedelta(seconds=10) + DEDUP_MARGIN


def test_the_answer_action_is_read_bounded_and_cleaned():
    assert answer_action(b'{"success": true, "action": "deduplicated"}') == "deduplicated"
    assert answer_action(b'  {"action": "updated"}') == "updated"
    assert answer_action(b'{"action": "' + b"x" * 100 + b'"}') == "x" * 32
    assert answer_action(b'{"action": "<b>bad</b>\\n"}') == "_b_bad_b_"
    assert answer_action(b'{"action": null}') is None and answer_action(b'{"action": {"a": 1}}') is None
    assert answer_action(b"OK") is None and answer_action(b'{"action": "upd') is None  # cut at the read cap
    assert answer_action(b"[1, 2]") is None and answer_action(b"") is None


def test_a_huge_answer_is_read_up_to_the_cap_and_the_session_goes_on(store, backend):
    ids = add_events(store, "user", [(str(k), 1) for k in range(1, 4)])
    backend.padding = 4 << 20  # 4 MiB: only the first 64 KiB are read, so its JSON (and action) is cut
    result = deliver_due(store, settings_for(backend, concurrency=1), entity="user", owner="t")
    assert result.sent == 3 and [r["event_id"] for r in backend.log] == ids
    assert {a["action"] for a in attempt_rows(store)} == {None}
    backend.padding = 0
    more, = add_events(store, "user", [("9", 1)])
    deliver_due(store, settings_for(backend), entity="user", owner="t")
    assert attempt_rows(store, more)[0]["action"] == "created"


# --- two deliverers -------------------------------------------------------------------------------------------

def _worker_processes(url, n=2, lease=120, batch="10"):
    """tests/support/deliver_worker.py in ``n`` processes at once (its policy: 50 ms backoff, the default 10 s window)."""
    env = dict(os.environ, BATCH=batch)
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "deliver_worker.py"), url, str(lease)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [o[1][-2000:] for o in outs]


def _worker_threads(backend, n=2):
    """``n`` deliverers in threads, each on its own connection, started together (no process start-up: the
    next changes reach the backend inside its window)."""
    from moodle_sync.outbox import db

    barrier, errors = threading.Barrier(n), []

    def work(i):
        conn = db.connect("moodle_sync_db")
        try:
            barrier.wait()
            deliver_due(conn, settings_for(backend, batch_size=10, concurrency=8), owner=f"thread-{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_two_deliverers_never_send_two_events_of_a_key_at_once_and_send_each_newest_once(store):
    keys = [f"{u}:23" for u in range(100, 130)]

    def add(seq):
        return add_events(store, "grade", [(k, seq) for k in keys], payload=lambda k: grade(int(k.split(":")[0]))(k))

    with KeyMemoryBackend(work_seconds=0.02) as backend:
        for seq in (1, 2, 3, 4):  # a backlog: four changes of every key waiting together
            add(seq)
        _worker_processes(backend.url)
        rows = events(store, "grade")
        newest = {r["entity_key"]: r["event_id"] for r in rows if r["sequence"] == 4}
        assert {r["status"] for r in rows if r["sequence"] < 4} == {"superseded"}
        assert {r["status"] for r in rows if r["sequence"] == 4} == {"sent"}
        assert all(backend.applied(e) == 1 for e in newest.values())
        assert len(backend.log) == len(keys) and not backend.overlaps
        # a fifth and sixth change of every key, right after: inside the backend's window, so deduplicated,
        # then resent after it
        add(5)
        add(6)
        _worker_threads(backend)
        rows = events(store, "grade")
        assert {r["status"] for r in rows if r["sequence"] == 5} == {"superseded"}
        sixth = {r["entity_key"]: r for r in rows if r["sequence"] == 6}
        assert {r["status"] for r in sixth.values()} == {"pending"}
        wait_for(max(utc(r["next_retry_at"]) for r in sixth.values()))
        _worker_threads(backend)
        assert {r["status"] for r in events(store, "grade") if r["sequence"] == 6} == {"sent"}
        for key, row in sixth.items():
            backend_key = f"{key.split(':')[0]}_4_3"
            assert backend.crm[backend_key]["event_id"] == row["event_id"]
            assert backend.applied(row["event_id"]) == 1
            assert [r["action"] for r in backend.requests_for(backend_key)] == ["created", "deduplicated", "updated"]
        assert not backend.overlaps


def test_the_connection_sets_the_window_and_coalescing():
    from types import SimpleNamespace

    from moodle_sync.config import ConfigError

    def conn(**extra):
        return SimpleNamespace(conn_id="moodle_sync_webhook", host="crm.example.org", schema="https", port=None,
                               password="t", extra_dejson=extra)

    default = WebhookSettings.from_connection(conn())
    assert default.policy.dedup_window == dt.timedelta(seconds=10) and default.coalesce
    settings = WebhookSettings.from_connection(conn(dedup_window_seconds=0, coalesce="false"))
    assert settings.policy.dedup_window == dt.timedelta(0) and not settings.coalesce
    for bad in (-1, "soon", 7200):
        with pytest.raises(ConfigError, match="dedup_window_seconds"):
            WebhookSettings.from_connection(conn(dedup_window_seconds=bad))
