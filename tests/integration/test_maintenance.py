"""The maintenance DAG's work: re-encryption after a key rotation, retention of sent events, dead-letter purge."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet

from conftest import TEST_ENCRYPTION_KEY
from support.helpers import add_events, events
from moodle_sync.ops import maintenance
from moodle_sync.outbox.crypto import PayloadCipher, parse_keys


def _set(store, sql: str, params=None) -> None:
    store.execute(sql, params)
    store.commit()


def test_after_a_key_rotation_every_row_is_resealed_under_the_new_key_and_the_old_key_can_go(store, monkeypatch):
    add_events(store, "user", [(k, 1) for k in range(1, 2_501)])  # sealed under the tests' key
    # a row written while encryption was explicitly off
    _set(store, "UPDATE moodle_sync_event_log SET payload = %(p)s WHERE entity_key = '7'",
         {"p": b'{"userid":7,"username":"user7","sequence":1}'})
    new_key = Fernet.generate_key().decode()
    rotated = PayloadCipher(tuple(parse_keys(f"{new_key} {TEST_ENCRYPTION_KEY}")))
    assert maintenance.reseal_payloads(store, rotated, batch=1_000) == 2_500
    assert maintenance.reseal_payloads(store, rotated) == 0  # nothing left
    stored = [p for (p,) in store.query("SELECT payload FROM moodle_sync_event_log")]
    store.commit()
    assert all(p.startswith(rotated.current_prefix) for p in stored)
    # the old key leaves the connection: every payload still opens, with the same content
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION", f'{{"conn_type": "generic", "password": "{new_key}"}}')
    payloads = {e["entity_key"]: e["payload"] for e in events(store, "user")}
    assert payloads["7"] == {"userid": 7, "username": "user7", "sequence": 1}
    assert payloads["2500"]["username"] == "user2500"


def test_retention_purges_old_sent_events_and_their_attempts_and_keeps_the_rest(store):
    ids = add_events(store, "grade", [(f"{k}:1", 1) for k in range(1, 31)])
    now = dt.datetime.now(dt.timezone.utc)
    old, recent = store.ts(now - dt.timedelta(days=40)), store.ts(now - dt.timedelta(days=5))
    # 10 sent 40 days ago, 10 sent 5 days ago, 5 dead and 5 pending from 40 days ago
    _set(store, "UPDATE moodle_sync_event_log SET created_at = %(t)s, status = 'sent', sent_at = %(t)s, "
                "next_retry_at = NULL WHERE event_id IN %(ids)s" if store.dialect == "mysql" else
                "UPDATE moodle_sync_event_log SET created_at = %(t)s, status = 'sent', sent_at = %(t)s, "
                "next_retry_at = NULL WHERE event_id::text = ANY(%(ids)s)", {"t": old, "ids": store.bind_list(ids[:10])})
    _set(store, "UPDATE moodle_sync_event_log SET created_at = %(t)s, status = 'sent', sent_at = %(t)s "
                + ("WHERE event_id IN %(ids)s" if store.dialect == "mysql" else "WHERE event_id::text = ANY(%(ids)s)"),
         {"t": recent, "ids": store.bind_list(ids[10:20])})
    _set(store, "UPDATE moodle_sync_event_log SET created_at = %(t)s, status = 'dead' "
                + ("WHERE event_id IN %(ids)s" if store.dialect == "mysql" else "WHERE event_id::text = ANY(%(ids)s)"),
         {"t": old, "ids": store.bind_list(ids[20:25])})
    _set(store, "UPDATE moodle_sync_event_log SET created_at = %(t)s "
                + ("WHERE event_id IN %(ids)s" if store.dialect == "mysql" else "WHERE event_id::text = ANY(%(ids)s)"),
         {"t": old, "ids": store.bind_list(ids[25:])})
    for eid in ids[:12]:
        _set(store, "INSERT INTO moodle_sync_delivery_attempt (event_id, attempt, started_at, duration_ms, "
                    "http_status, outcome) VALUES (%(e)s, 1, %(t)s, 5, 200, 'sent')", {"e": eid, "t": old})

    assert maintenance.purge_sent(store, older_than_days=30, step=7) == 10
    left = {e["event_id"]: e["status"] for e in events(store)}
    assert set(left) == set(ids[10:]) and list(left.values()).count("dead") == 5
    attempts = {str(r[0]) for r in store.query("SELECT event_id FROM moodle_sync_delivery_attempt")}
    store.commit()
    assert attempts == set(ids[10:12])
    # the keys' state stays: a purged change is never emitted again
    assert store.query("SELECT COUNT(*) FROM moodle_sync_entity_state")[0][0] == 30
    assert maintenance.purge_sent(store, older_than_days=30) == 0

    assert maintenance.purge_dead(store, now - dt.timedelta(days=50)) == 0
    assert maintenance.purge_dead(store, now) == 5
    assert len(events(store)) == 15


@pytest.mark.slow  # DAG runs
def test_the_maintenance_dag_reseals_purges_and_keeps_dead_events_unless_told(airflow_db, store, monkeypatch):
    from support.helpers import run_dag

    add_events(store, "user", [(k, 1) for k in range(1, 6)])
    old = store.ts(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=45))
    _set(store, "UPDATE moodle_sync_event_log SET status = 'sent', sent_at = %(t)s, created_at = %(t)s, "
                "next_retry_at = NULL WHERE entity_key IN ('1', '2')", {"t": old})
    _set(store, "UPDATE moodle_sync_event_log SET status = 'dead', created_at = %(t)s, next_retry_at = NULL "
                "WHERE entity_key = '3'", {"t": old})
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION",
                       f'{{"conn_type": "generic", "password": "{new_key} {TEST_ENCRYPTION_KEY}"}}')
    assert run_dag("moodle_sync_maintenance") == "success"
    left = {e["entity_key"]: e for e in events(store)}
    assert sorted(left) == ["3", "4", "5"]  # 1 and 2 were sent 45 days ago; dead 3 stays
    assert all(e["stored_payload"].startswith(PayloadCipher(tuple(parse_keys(new_key))).current_prefix)
               for e in left.values())
    assert run_dag("moodle_sync_maintenance", {"purge_dead_before": "2100-01-01T00:00:00Z"}) == "success"
    assert sorted(e["entity_key"] for e in events(store)) == ["4", "5"]
