"""moodle_sync.ops.health.snapshot on real event logs (MariaDB and PostgreSQL), filled through the real code paths:
a real sync of the Moodle fixture, real deliveries to a receiver on loopback, the run log and endpoint states
as the sync and the deliverers write them."""

from __future__ import annotations

import datetime as dt
import json
import types

import pytest

from support.helpers import add_events, events, operated_log
from moodle_sync.outbox import eventlog
from moodle_sync.outbox.entity_store import EntityStore
from moodle_sync.outbox.db import utcnow
from moodle_sync.ops.health import snapshot

KEYS = {"last_success_at", "last_run_id", "watermark", "watermark_lag_seconds", "pending", "failed", "dead", "sent",
        "superseded", "skipped", "oldest_pending_age_seconds", "last_failure"}


def utc(value):
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def record_runs(store, *entities, at=None):
    """Finished sync runs as the sync records them (run log and watermark in one commit)."""
    for entity in entities:
        result = types.SimpleNamespace(entity=entity, window={"mode": "scheduled", "since": 0, "until": 1000},
                                       read=1, quarantined=0, unchanged=0, events=0, seconds=0.5)
        eventlog.record_run(store, result, f"run-{entity}")
        EntityStore(store, entity).set_watermark(None, 1000, f"run-{entity}")
    store.commit()


def test_an_empty_log_names_every_entity_with_nothing_known(store):
    snap = snapshot(store)
    assert set(snap["entities"]) == {"user", "enrolment", "grade"}
    for entity in snap["entities"].values():
        assert set(entity) == KEYS
        assert entity["last_success_at"] is None and entity["watermark"] is None and entity["last_failure"] is None
        assert entity["watermark_lag_seconds"] is None and entity["oldest_pending_age_seconds"] is None
        assert (entity["pending"], entity["failed"], entity["dead"], entity["sent"]) == (0, 0, 0, 0)
    assert snap["endpoints"] == []
    assert snap["status"] == "degraded" and "user: never synced" in snap["reasons"]
    json.dumps(snap)  # plain JSON-able data


def test_counts_ages_and_lag_after_a_real_sync_and_real_deliveries(moodle, store, receiver):
    by_status = operated_log(store, receiver, moodle)
    now = utcnow()
    snap = snapshot(store, now=now)
    json.dumps(snap)
    logged = events(store)

    for entity in ("user", "enrolment", "grade"):
        mine = [e for e in logged if e["entity_type"] == entity]
        got = snap["entities"][entity]
        for status in ("pending", "failed", "dead", "sent"):
            assert got[status] == sum(e["status"] == status for e in mine), (entity, status)
    users = snap["entities"]["user"]
    assert users["sent"] == 136 - 3 and users["failed"] == 3 and users["pending"] == 0
    assert snap["entities"]["grade"]["dead"] == 1 and snap["entities"]["enrolment"]["pending"] == 2

    # the run log and the watermark as the sync wrote them
    finished, run_id = store.query("SELECT finished_at, dag_run_id FROM moodle_sync_run_log "
                                   "WHERE entity_type = 'user'")[0]
    watermark = EntityStore(store, "user").watermark()
    store.commit()
    assert users["last_success_at"] == utc(finished).isoformat() and users["last_run_id"] == run_id == "test-user"
    assert users["watermark"] == watermark
    assert users["watermark_lag_seconds"] == int(now.timestamp()) - watermark
    assert snap["entities"]["grade"]["last_success_at"] is None  # grades were only added, never synced

    # age of the oldest undelivered (pending or failed) event of each entity
    created = dict(store.query("SELECT event_id, created_at FROM moodle_sync_event_log"))
    store.commit()
    created = {str(k): utc(v) for k, v in created.items()}
    for entity in ("user", "enrolment"):
        undelivered = [created[e["event_id"]] for e in logged
                       if e["entity_type"] == entity and e["status"] in ("pending", "failed")]
        assert snap["entities"][entity]["oldest_pending_age_seconds"] == pytest.approx(
            (now - min(undelivered)).total_seconds(), abs=0.002)
    assert snap["entities"]["grade"]["oldest_pending_age_seconds"] is None  # one sent, one dead

    assert snap["status"] == "failing"  # a dead event
    assert "grade: 1 dead events" in snap["reasons"] and "user: 3 failed events waiting for a retry" in snap["reasons"]
    assert by_status["dead"] and len(by_status["failed"]) == 3


def test_status_rules_fresh_stale_throttled_paused(store):
    record_runs(store, "user", "enrolment", "grade")
    finished = utc(store.query("SELECT MAX(finished_at) FROM moodle_sync_run_log")[0][0])
    store.commit()

    fresh = snapshot(store, now=finished + dt.timedelta(minutes=5))
    assert fresh["status"] == "ok" and fresh["reasons"] == []
    assert fresh["entities"]["grade"]["last_run_id"] == "run-grade"

    # older than 3 intervals of 15 minutes: degraded; a longer interval for one entity changes only its verdict
    late = finished + dt.timedelta(minutes=46)
    stale = snapshot(store, now=late)
    assert stale["status"] == "degraded" and len(stale["reasons"]) == 3
    relaxed = snapshot(store, now=late, sync_interval_seconds={"user": 3600, "enrolment": 3600})
    assert relaxed["status"] == "degraded" and [r.split(":")[0] for r in relaxed["reasons"]] == ["grade"]
    assert snapshot(store, now=late, sync_interval_seconds={"user": 3600, "enrolment": 3600, "grade": 3600}
                    )["status"] == "ok"

    now = finished + dt.timedelta(minutes=1)
    eventlog.set_endpoint_state(store, "http://crm.example/api/v1/webhooks", "throttled", "429/503 answers")
    throttled = snapshot(store, now=now)
    assert throttled["status"] == "degraded"
    [endpoint] = throttled["endpoints"]
    assert (endpoint["endpoint"], endpoint["state"], endpoint["reason"]) == (
        "http://crm.example/api/v1/webhooks", "throttled", "429/503 answers")
    assert dt.datetime.fromisoformat(endpoint["updated_at"]).tzinfo is not None

    eventlog.set_endpoint_state(store, "http://crm.example/api/v1/webhooks", "paused", "HTTP 410")
    assert snapshot(store, now=now)["status"] == "failing"
    eventlog.set_endpoint_state(store, "http://crm.example/api/v1/webhooks", "ok", "resumed by moodle_sync_replay")
    assert snapshot(store, now=now)["status"] == "ok"

    add_events(store, "user", [(1, 1)])
    assert snapshot(store, now=now)["status"] == "ok"  # pending alone is normal
    assert snapshot(store, now=now)["entities"]["user"]["pending"] == 1


def test_the_snapshot_reads_the_status_index_not_the_table(store):
    """Cheap on a big log: the counts are an index-only scan of ix_moodle_sync_status."""
    from moodle_sync.outbox.sql import load

    add_events(store, "user", [(k, 1) for k in range(1, 50)])
    if store.dialect == "mysql":
        store.execute("ANALYZE TABLE moodle_sync_event_log")
        plan = store.query("EXPLAIN " + load("health", "status_counts", "mysql"))
        assert plan[0][5] == "ix_moodle_sync_status" and "Using index" in (plan[0][-1] or ""), plan
        plan = store.query("EXPLAIN " + load("health", "oldest_undelivered", "mysql"))
        assert plan[0][5] == "ix_moodle_sync_status", plan
    else:
        store.execute("SET enable_seqscan = off")  # a tiny table would be scanned anyway; is the index usable?
        text = "\n".join(r[0] for r in store.query("EXPLAIN " + load("health", "status_counts", "postgres")))
        assert "ix_moodle_sync_status" in text and "Index Only Scan" in text, text
        text = "\n".join(r[0] for r in store.query("EXPLAIN " + load("health", "oldest_undelivered", "postgres")))
        assert "ix_moodle_sync_status" in text, text
    store.rollback()


def test_the_endpoint_state_follows_an_outage_and_its_recovery_and_a_replaced_endpoint_leaves(store, receiver,
                                                                                                monkeypatch):
    """Through real deliveries: 503s make the configured endpoint throttled (degraded), the next served run
    makes it ok again, and once the connection names another backend the old one's state is no longer health."""
    from moodle_sync.delivery.webhook import deliver_due, settings_from_connection
    from moodle_sync.ops.health import configured_endpoints
    from support.helpers import webhook

    webhook(monkeypatch, receiver)
    settings = settings_from_connection()
    record_runs(store, "user", "enrolment", "grade")
    add_events(store, "user", [(k, 1) for k in range(1, 5)])
    receiver.state.control(fail_status=503, fail_next=4)
    deliver_due(store, settings, entity="user", owner="t")

    def health():
        snap = snapshot(store, endpoints=configured_endpoints())
        return snap["status"], [(e["endpoint"], e["state"]) for e in snap["endpoints"]]

    assert health() == ("degraded", [(settings.endpoint_id, "throttled")])
    store.execute("UPDATE moodle_sync_event_log SET next_retry_at = %(t)s WHERE status = 'failed'",
                  {"t": store.ts(utcnow())})
    store.commit()
    deliver_due(store, settings, entity="user", owner="t")
    assert health() == ("ok", [(settings.endpoint_id, "ok")])

    receiver.state.control(fail_status=503, fail_next=1)
    add_events(store, "user", [(9, 1)])
    deliver_due(store, settings, entity="user", owner="t")
    assert health()[0] == "degraded"
    webhook(monkeypatch, receiver, endpoint="/api/v2/webhooks")  # the backend moved: the old state is history
    assert health()[1] == [] and not [r for r in snapshot(store, endpoints=configured_endpoints())["reasons"]
                                      if "endpoint" in r]  # still degraded: the one failed event
    assert [e["endpoint"] for e in snapshot(store)["endpoints"]] == [settings.endpoint_id]  # still stored
