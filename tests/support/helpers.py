"""Small helpers the tests share: run one sync like the DAG does, read the event log back, run a DAG with
dag.test()."""

from __future__ import annotations

import json
import os
import re
import time

from moodle_sync.outbox import eventlog
from moodle_sync.outbox.entity_store import EntityStore
from moodle_sync.outbox import payloads
from moodle_sync.outbox.crypto import cipher_from_connection
from moodle_sync.entities import BY_NAME
from moodle_sync.capture.sync import sync_entity
from moodle_sync.capture.window import resolve_window

#: "Now" for scenarios on the Moodle fixture: an hour after its last write (FACTS.md: made 2026-11-27 01:55-02:05
#: UTC, phase F at 1795745096), so that its future enrolment (ue 232, 1796349633) stays in the future on any date.
FIXTURE_NOW = 1795748400
SITE = "0k0QDcwICiIHFGvyaA0hLu5CfvGQwyVnlocalhost"  # mdl_config.siteidentifier of the fixture
#: The entity DAGs, as dags/moodle_sync_entities.py names them.
DAG_IDS = ["moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"]


def run_sync(entity: str, moodle, store, *, now: int | None = None, since=None, until=None,
             run_type: str = "manual", interval=(None, None), prefix: str = "mdl_", run_id: str | None = None):
    spec = BY_NAME[entity]
    now = now or FIXTURE_NOW
    window = resolve_window(run_type=run_type, interval_start=interval[0], interval_end=interval[1],
                            since=since, until=until, watermark=EntityStore(store, entity).watermark(), now=now)
    return sync_entity(spec, moodle, store, window, prefix=prefix, run_id=run_id or f"test-{entity}")


def reconcile(entity: str, moodle, store, *, now: int | None = None, prefix: str = "mdl_"):
    """One entity's reconciliation, as a moodle_sync_reconcile task runs it."""
    from moodle_sync.capture.window import Window

    now = now or FIXTURE_NOW
    return sync_entity(BY_NAME[entity], moodle, store, Window("reconcile", None, now, now), prefix=prefix,
                       run_id=f"test-reconcile-{entity}")


def events(store, entity: str | None = None) -> list[dict]:
    sql = ("SELECT event_id, event_type, entity_type, entity_key, sequence, payload, status, attempts, "
           "next_retry_at, last_error, last_http_status, sent_at FROM moodle_sync_event_log")
    params = None
    if entity:
        sql += " WHERE entity_type = %(entity)s"
        params = {"entity": entity}
    rows = store.query(sql + " ORDER BY id", params)
    store.commit()
    names = ["event_id", "event_type", "entity_type", "entity_key", "sequence", "payload", "status", "attempts",
             "next_retry_at", "last_error", "last_http_status", "sent_at"]
    cipher = cipher_from_connection()
    out = []
    for row in rows:
        item = dict(zip(names, row))
        item["event_id"] = str(item["event_id"])
        item["stored_payload"] = item["payload"]
        item["payload"] = payloads.as_dict(cipher.open(item["payload"], item["event_id"]))
        out.append(item)
    return out


def by_key(items: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for item in items:
        grouped.setdefault(item["entity_key"], []).append(item)
    return grouped


def moodle_exec(moodle, *statements: tuple[str, dict | tuple | None]) -> None:
    """Write to the Moodle copy (as Moodle's own APIs would) and commit."""
    for sql, params in statements:
        moodle.execute(sql, params)
    moodle.commit()


def add_events(store, entity: str, keys_and_sequences, *, payload=None) -> list[str]:
    """Put pending events straight into the log (delivery tests need no Moodle); returns their ids."""
    import datetime as dt
    import uuid as _uuid

    from moodle_sync.outbox.db import utcnow

    now = store.ts(utcnow() - dt.timedelta(seconds=1))
    cipher = cipher_from_connection()
    rows, states, ids = [], [], []
    for key, seq in keys_and_sequences:
        eid = str(_uuid.uuid4())
        ids.append(eid)
        base = payload(key) if callable(payload) else payload
        body = dict(base or {"userid": int(str(key).split(":")[0]), "username": f"user{key}"}, sequence=seq)
        rows.append((eid, f"{entity}.created" if seq == 1 else f"{entity}.updated", entity, str(key), seq,
                     cipher.seal(json.dumps(body).encode(), eid), "pending", now, None, "test", now, now, now))
        states.append((entity, str(key), seq, "0" * 32, now, None, 0))
    eventlog.write_events(store, rows, states)
    store.commit()
    return ids


def operated_log(store, receiver, moodle=None) -> dict[str, list[str]]:
    """An event log as operators meet it, made through the real code paths: users synced (from the Moodle
    fixture when given; else 6 users added to the log, their run recorded and the watermark set as a sync
    does), delivered to ``receiver`` with 3 answers of 500 (failed); two grades, one answered 400 (dead); two
    enrolments still pending. Returns the event ids by status."""
    from moodle_sync.delivery.webhook import WebhookSettings, deliver_due
    from moodle_sync.capture.sync import SyncResult

    if moodle is not None:
        run_sync("user", moodle, store)
    else:
        add_events(store, "user", [(k, 1) for k in range(1, 7)])
        now = int(time.time())
        result = SyncResult(entity="user", window={"mode": "manual", "since": now - 900, "until": now}, read=6,
                            events=6, seconds=0.1)
        eventlog.record_run(store, result, "test-user")
        EntityStore(store, "user").set_watermark(None, now, "test-user")
        store.commit()
    settings = WebhookSettings(base_url=receiver.url, token="test-token-123", concurrency=1)
    receiver.state.control(fail_status=500, fail_next=3)
    deliver_due(store, settings, entity="user", owner="test")
    add_events(store, "grade", [("7:1", 1), ("8:1", 1)], payload=lambda key: {"userid": int(key.split(":")[0]), "itemid": 1, "grade_id": 100, "assignment_id": 5})
    receiver.state.control(fail_status=400, fail_next=1)
    deliver_due(store, settings, entity="grade", owner="test")
    add_events(store, "enrolment", [(11, 1), (12, 1)])
    by_status: dict[str, list[str]] = {}
    for item in events(store):
        by_status.setdefault(item["status"], []).append(item["event_id"])
    return by_status


#: a binary value in a dump: MariaDB's --hex-blob (0x4A...) or PostgreSQL's bytea (\\x4a... in COPY text)
_HEX_BLOB = re.compile(rb"(?<![0-9A-Za-z])0x([0-9A-F]+)|\\\\x([0-9a-f]+)")


def open_dump_blobs(dump: bytes) -> tuple[bytes, int]:
    """A dump with every binary value written as its bytes (a plain-text payload reads as such), except sealed
    payloads (``enc2:<key id>:`` + random bytes, where a short name could turn up by chance), which become
    ``enc2:<sealed>``; and how many of those there were."""
    sealed = 0

    def value(match: re.Match) -> bytes:
        nonlocal sealed
        raw = bytes.fromhex((match.group(1) or match.group(2)).decode())
        if raw.startswith(b"enc2:"):
            sealed += 1
            return b"enc2:<sealed>"
        return raw

    return _HEX_BLOB.sub(value, dump), sealed


def run_dag(dag_id, conf=None) -> str:
    """Run a DAG with dag.test(); its final state."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    run = bag.dags[dag_id].test(run_conf=conf)
    return str(getattr(run.state, "value", run.state))


def webhook(monkeypatch, receiver, **extra):
    """Point the ``moodle_sync_webhook`` connection at ``receiver``."""
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "schema": "http",
        "password": "test-token-123", "extra": extra}))
