"""Promises of the README and docs/ that had no test of their own (issue 16), each against the real parts: the
receiver of demo/receiver.py (or a raw socket server) on loopback, the event log on MariaDB and PostgreSQL, a
tiny SMTP server on loopback. Each test names the line of code it protects."""

from __future__ import annotations

import datetime as dt

import pytest

from support.helpers import add_events, events
from support.sinks import _ServedSink, _ThreadingTCP
from moodle_sync.outbox import eventlog
from moodle_sync.delivery.webhook import WebhookSettings, deliver_due


def settings_for(receiver, **over):
    return WebhookSettings(base_url=receiver.url, token="test-token-123", **over)


# --- docs/delivery.md: "429, 503: failed, Retry-After honoured; this run stops claiming more" ---------------------
# (and docs/event-log.md: moodle_sync_endpoint_state is `ok`, `throttled` or `paused`)

@pytest.mark.parametrize("status", [429, 503])
def test_a_throttling_answer_stops_the_run_claiming_more_and_marks_the_endpoint_throttled(store, receiver, status):
    """Protects webhook._deliver: ``stop = bool(pause_reason or throttled)`` and the endpoint state it records
    (``throttled``; ``ok`` again once the next run is served: it started from "ok" each run and never wrote it back,
    so the health stayed degraded after the backend recovered)."""
    add_events(store, "user", [(k, 1) for k in range(1, 11)])
    receiver.state.control(fail_status=status, fail_next=1, retry_after="120")
    settings = settings_for(receiver, concurrency=1, batch_size=2)
    result = deliver_due(store, settings, entity="user", owner="t")
    # the first batch (2 events) went out, one answered 429/503: no further batch was claimed
    assert receiver.state.requests == 2 and (result.attempted, result.sent, result.failed) == (2, 1, 1)
    rows = events(store, "user")
    assert sorted(r["status"] for r in rows) == ["failed"] + ["pending"] * 8 + ["sent"]
    assert all(r["attempts"] == 0 for r in rows if r["status"] == "pending")
    assert eventlog.endpoint_state(store, settings.endpoint_id) == ("throttled", "429/503 answers")
    # the next run that gets answers clears it
    deliver_due(store, settings, entity="user", owner="t")
    assert eventlog.endpoint_state(store, settings.endpoint_id)[0] == "ok"
    assert sorted(r["status"] for r in events(store, "user")) == ["failed"] + ["sent"] * 9


# --- docs/delivery.md: "A key's later event waits while an earlier one is pending or failed [...] Dead events
# release their key." ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("coalesce", [True, False])
def test_a_dead_event_releases_its_key_for_the_later_events_of_that_key(store, receiver, coalesce):
    """Protects claim_due.sql's per-key check (``p.status IN ('pending', 'failed')``: a dead event is no
    earlier event waiting)."""
    [first] = add_events(store, "user", [(1, 1)])
    receiver.state.control(fail_status=400, fail_next=1)  # another 4xx: dead at once
    settings = settings_for(receiver, concurrency=1, coalesce=coalesce)
    deliver_due(store, settings, entity="user", owner="t")
    assert [(r["sequence"], r["status"]) for r in events(store, "user")] == [(1, "dead")]
    later = add_events(store, "user", [(1, 2), (1, 3)])
    receiver.state.control()
    for _ in range(3):  # coalesce=False: one event of a key per claim, in order
        deliver_due(store, settings, entity="user", owner="t")
    state = {r["sequence"]: r["status"] for r in events(store, "user")}
    if coalesce:  # the newest of the waiting ones goes; the dead one stays dead, never "superseded"
        assert state == {1: "dead", 2: "superseded", 3: "sent"}
        assert [d["event_id"] for d in receiver.state.deliveries] == [later[1]]
    else:
        assert state == {1: "dead", 2: "sent", 3: "sent"}
        assert [d["event_id"] for d in receiver.state.deliveries] == later
    assert first not in {d["event_id"] for d in receiver.state.deliveries}


# --- docs/alerts.md: "starttls (true unless ssl: no STARTTLS offered is an error, never a plain send)" -----------

class _PlainSmtp(_ServedSink):
    """A raw SMTP server on loopback that offers no STARTTLS (an old relay, or a man in the middle that strips it)
    and accepts anything in the clear; it keeps every byte the client sent."""

    def __init__(self):
        import socketserver
        import threading

        sink = self
        self.received = bytearray()
        self.lock = threading.Lock()

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def reply(text):
                    self.wfile.write(text.encode() + b"\r\n")
                    self.wfile.flush()

                reply("220 plain ESMTP")
                in_data = False
                while True:
                    raw = self.rfile.readline(65536)
                    if not raw:
                        return
                    with sink.lock:
                        sink.received += raw
                    if in_data:
                        if raw in (b".\r\n", b".\n"):
                            in_data = False
                            reply("250 queued")
                        continue
                    verb = raw.split(b" ", 1)[0].strip().upper()
                    if verb in (b"EHLO", b"HELO"):
                        reply("250-plain\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")  # no STARTTLS
                    elif verb == b"AUTH":
                        reply("235 ok")
                    elif verb == b"DATA":
                        in_data = True
                        reply("354 go on")
                    elif verb == b"QUIT":
                        reply("221 bye")
                        return
                    else:
                        reply("250 ok")

        self.server = _ThreadingTCP(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def verbs(self) -> list[bytes]:
        with self.lock:
            return [line.split(b" ", 1)[0].strip().upper() for line in bytes(self.received).splitlines()]


def test_smtp_without_starttls_offered_is_an_error_never_a_plain_send(monkeypatch, caplog):
    """Protects alerts.EmailChannel.send's ``client.starttls(...)`` (unguarded: smtplib raises when the server
    offers no STARTTLS) and channel_from_connection's default ``starttls`` (true unless ``ssl``)."""
    import json
    import logging

    from moodle_sync.ops.alerts import Notification, dispatch, load_channels

    password = "smtp-Plain-Secret-91"
    note = Notification(title="t", text="the alert text", severity="critical", data={})

    def set_mail(port, **extra):
        monkeypatch.setenv("AIRFLOW_CONN_MAIL", json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "alerts@example.org",
            "password": password, "extra": {"to": "ops@example.org", "timeout": 5, **extra}}))

    with _PlainSmtp() as server:
        set_mail(server.port)  # starttls not set: its default
        with caplog.at_level(logging.ERROR, logger="moodle_sync.ops.alerts"):
            assert dispatch(note, load_channels(["mail"])) == (0, 1)
        verbs = server.verbs()
        assert verbs[0] == b"EHLO" and not {b"AUTH", b"MAIL", b"RCPT", b"DATA"} & set(verbs), verbs
        assert password.encode() not in server.received and b"the alert text" not in server.received
        assert "STARTTLS" in caplog.text and password not in caplog.text
        # the same server takes the mail when told to send in the clear: what failed above was the missing STARTTLS
        set_mail(server.port, starttls=False)
        assert dispatch(note, load_channels(["mail"])) == (1, 0)
        assert b"DATA" in server.verbs() and b"the alert text" in server.received


# --- docs/event-log.md: "versioned migrations [...] that every sync task applies (idempotent, under a database
# lock)" ----------------------------------------------------------------------------------------------------------

def _waiting_on_migration_lock(watcher, name: str) -> int:
    """Sessions of database ``name`` waiting for the migration lock (GET_LOCK on MariaDB, an advisory lock on
    PostgreSQL), as the server reports them."""
    if watcher.dialect == "mysql":
        sql = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %(db)s AND STATE = 'User lock' "
               "AND INFO LIKE 'SELECT GET_LOCK(%%'")
    else:
        sql = ("SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
               "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %(db)s")
    n = watcher.query(sql, {"db": name})[0][0]
    watcher.commit()
    return int(n)


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_concurrent_tasks_wait_on_the_migration_lock_and_each_migration_runs_once(dialect):
    """Protects eventlog.migrate's lock (migration_lock.sql: GET_LOCK / pg_advisory_lock) and its skip of the
    versions already applied. Four tasks start on an empty event log while the lock is held: all four wait on it,
    nothing is created meanwhile; once it is free, one of them applies every migration and the others none."""
    import threading

    from conftest import fresh_database, scratch_db, wait_until
    from moodle_sync.outbox import db as dbmod
    from moodle_sync.outbox.sql import migrations

    name = scratch_db("mzs_test_migrate")
    holder = fresh_database(dialect, name, "moodle_sync_db")
    watcher = dbmod.connect("moodle_sync_db")
    results, errors = {}, []

    def task(n):
        conn = dbmod.connect("moodle_sync_db")
        try:
            results[n] = eventlog.migrate(conn)
        except Exception as exc:  # noqa: BLE001 (asserted below)
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=task, args=(n,)) for n in range(4)]
    holder.query(holder.sql("eventlog", "migration_lock"))  # another task is migrating
    try:
        for t in threads:
            t.start()
        # (a task that went ahead without waiting ends the wait at once)
        wait_until(lambda: _waiting_on_migration_lock(watcher, name) == 4 or errors or results, timeout=60)
        assert _waiting_on_migration_lock(watcher, name) == 4, (
            f"{_waiting_on_migration_lock(watcher, name)} tasks wait on the migration lock; errors: {errors}")
        tables = watcher.query("SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE "
                               "'moodle_sync%%' AND table_schema = %(s)s",
                               {"s": name if dialect == "mysql" else "public"})[0][0]
        watcher.commit()
        assert tables == 0 and not results  # nobody went ahead
    finally:
        holder.query(holder.sql("eventlog", "migration_unlock"))
        holder.commit()
        for t in threads:
            t.join(timeout=120)
    assert not errors
    every = [version for version, _, _ in migrations(dialect)]
    assert sorted(map(tuple, results.values())) == [(), (), (), tuple(every)]
    recorded = watcher.query("SELECT version, COUNT(*) FROM moodle_sync_schema_migrations GROUP BY version "
                             "ORDER BY version")
    watcher.commit()
    assert [(int(v), int(n)) for v, n in recorded] == [(v, 1) for v in every]
    assert eventlog.migrate(watcher) == []  # a later task: nothing left to do
    watcher.close()
    holder.close()


# --- README: "lease_seconds (derived): how long a claim holds events; by default long enough for a whole batch to
# time out"; docs/delivery.md: "the lease covers a whole batch timing out" -----------------------------------------

class _SilentServer:
    """Accepts connections on loopback, reads what comes and never answers (a backend that hangs); on leaving,
    every connection is closed and the port refuses."""

    def __init__(self):
        import socket
        import threading

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted, self.received, self.stop = [], 0, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        import select

        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
                self.accepted.append(conn)
            except OSError:
                pass
            live = [c for c in self.accepted if c.fileno() >= 0]
            for conn in select.select(live, [], [], 0)[0] if live else []:
                self.received += len(conn.recv(65536))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.listener.close()
        for conn in self.accepted:
            conn.close()


def test_the_default_lease_outlives_a_batch_whose_every_request_times_out(store):
    """Protects WebhookSettings.lease (``rounds * (timeout + connect_timeout) + 60``, at least 300 s) and the claim
    leasing with it. A batch of 40 events, one request at a time, to a backend that never answers: each request
    may take ``timeout`` (10 s), the batch 400 s. While it is on the wire, every event of it is leased to this
    deliverer until after the batch's worst case: no other deliverer can take one (and send it twice)."""
    import math
    import threading

    from conftest import wait_until
    from moodle_sync.outbox import db as dbmod
    from moodle_sync.outbox.db import utcnow

    add_events(store, "user", [(k, 1) for k in range(1, 41)])
    watcher = dbmod.connect("moodle_sync_db")
    with _SilentServer() as backend:
        settings = WebhookSettings(base_url=backend.url, token="test-token-123", concurrency=1, batch_size=40,
                                   timeout=10, connect_timeout=10)  # lease_seconds: the default
        worst_case = dt.timedelta(seconds=math.ceil(settings.batch_size / settings.concurrency) * settings.timeout)
        outcome = {}

        def run():
            try:
                outcome["result"] = deliver_due(store, settings, entity="user", owner="hanging")
            except Exception as exc:  # noqa: BLE001 (the backend went away: every event unreachable)
                outcome["error"] = exc

        before = utcnow()
        worker = threading.Thread(target=run)
        worker.start()
        try:
            assert wait_until(lambda: backend.received > 0 or not worker.is_alive(), timeout=60)
            assert worker.is_alive(), outcome  # the first request hangs
            rows = watcher.query("SELECT locked_by, locked_until FROM moodle_sync_event_log")
            watcher.commit()
            assert len(rows) == 40 and {r[0] for r in rows} == {"hanging"}
            earliest_end = min(r[1] if r[1].tzinfo else r[1].replace(tzinfo=dt.timezone.utc) for r in rows)
            assert earliest_end >= before + worst_case, (earliest_end - before, worst_case)
            # a second deliverer finds nothing to take while the batch hangs
            assert eventlog.claim_due(watcher, "user", "other", 100, settings.lease) == []
        finally:
            backend.__exit__(None, None, None)  # the backend goes away: the run ends at once
            worker.join(timeout=120)
    assert not worker.is_alive()
    assert isinstance(outcome.get("error"), ConnectionError), outcome
    assert {r["status"] for r in events(store, "user")} <= {"failed", "pending"}
    watcher.close()


# --- README: "MOODLE_SYNC_FAST_PATH_MAX_KEYS: keys one run takes from the fast path; the rest next run" -----------

@pytest.fixture
def moodle_log():
    """A Moodle database with only what the users' fast path reads, with Moodle's own columns: the standard log
    store enabled (mdl_config_plugins) and its log table (mdl_logstore_standard_log). Fast: no 494-table copy."""
    from conftest import fresh_database, scratch_db

    conn = fresh_database("mysql", scratch_db("mzs_test_moodle_log"), "moodle_db")
    conn.execute("CREATE TABLE mdl_config_plugins (id BIGINT AUTO_INCREMENT PRIMARY KEY, plugin VARCHAR(100) NOT "
                 "NULL, name VARCHAR(100) NOT NULL, value LONGTEXT NOT NULL)")
    conn.execute("INSERT INTO mdl_config_plugins (plugin, name, value) VALUES ('tool_log', 'enabled_stores', "
                 "'logstore_standard')")
    conn.execute("CREATE TABLE mdl_logstore_standard_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, eventname "
                 "VARCHAR(255) NOT NULL, component VARCHAR(100) NOT NULL DEFAULT 'core', objectid BIGINT, "
                 "relateduserid BIGINT, courseid BIGINT, other LONGTEXT, timecreated BIGINT NOT NULL, "
                 "KEY (timecreated))")
    conn.commit()
    yield conn
    conn.close()


def test_the_fast_path_takes_at_most_max_keys_keys_a_run_and_the_rest_next_run(store, moodle_log, monkeypatch):
    """Protects fastpath._read_source's cap (it was checked only after a full page of 10,000 rows: a run took
    every key of a shorter page, any MOODLE_SYNC_FAST_PATH_MAX_KEYS below that did nothing). 30 users deleted
    in Moodle's log, between other events and with a user named twice; a cap of 10 keys: three runs of 10 new
    keys each, in log order, then nothing new."""
    from moodle_sync.capture import fastpath
    from moodle_sync.config import sync_settings
    from moodle_sync.entities import BY_NAME
    from moodle_sync.outbox.entity_store import EntityStore

    rows = []
    for userid in range(101, 131):
        rows.append((r"\core\event\course_viewed", None, 2, 1_700_000_000 + userid))
        rows.append((r"\core\event\user_deleted", userid, userid, 1_700_000_000 + userid))
        if userid == 105:
            rows.append((r"\core\event\role_unassigned", 3, userid, 1_700_000_000 + userid))
    for eventname, objectid, related, when in rows:
        moodle_log.execute("INSERT INTO mdl_logstore_standard_log (eventname, objectid, relateduserid, courseid, "
                           "timecreated) VALUES (%s, %s, %s, 1, %s)", (eventname, objectid, related, when))
    moodle_log.commit()

    monkeypatch.setenv("MOODLE_SYNC_FAST_PATH_MAX_KEYS", "10")
    settings = sync_settings()["fast_path"]
    state = EntityStore(store, "user")
    seen: list[list[str]] = []
    for run in range(4):
        found = fastpath.read(BY_NAME["user"], moodle_log, state, prefix="mdl_", since=0, initial=False,
                              **settings)
        new = [k for k in found.keys if not any(k in earlier for earlier in seen)]
        assert len(new) <= 10, (run, new)
        seen.append(new)
        state.set_cursors(found.cursors, f"run-{run}")
        store.commit()
    assert seen == [[str(u) for u in range(101, 111)], [str(u) for u in range(111, 121)],
                    [str(u) for u in range(121, 131)], []]
