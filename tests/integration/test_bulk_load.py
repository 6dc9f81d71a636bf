"""The bulk paths of the event log: on MariaDB LOAD DATA LOCAL INFILE from memory (db.Database.load_rows): what
goes in comes back the same, nothing is skipped silently, a server or client that refuses it gets the INSERT
path, and the sync's chunk writers use it (every chunk of an initial sync); on PostgreSQL binary COPY, whose
values come back the same too. And the binary payload column (migration 008) over an older log."""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import TEST_ENCRYPTION_KEY, fresh_database, scratch_db
from support.helpers import events, moodle_exec, run_sync
from moodle_sync.outbox import db
from moodle_sync.outbox import eventlog
from moodle_sync.ops import maintenance
from moodle_sync.outbox.crypto import cipher_from_connection, key_id, parse_keys
from moodle_sync.outbox.db import BulkLoadError, utcnow
from moodle_sync.outbox.sql import migrations, split_statements

ODD_BYTES = b"enc2:0123abcd:" + bytes(range(256)) + b"\\N\t\n\\\x00 end"


@pytest.fixture
def mariadb_store():
    store = fresh_database("mysql", scratch_db("mzs_test_bulk"), "moodle_sync_db")
    eventlog.migrate(store)
    yield store
    store.close()


def _rows(store, count: int, payload=lambda i: b"{}") -> tuple[list[tuple], list[tuple]]:
    now = store.ts(utcnow())
    events_, states = [], []
    for i in range(count):
        eid = str(uuid.uuid4())
        events_.append((eid, "grade.created", "grade", f"{i}:7", 1, payload(i), "pending", now,
                        None if i % 2 else 1700000000, "manual__2026-11-27T10:00:00+00:00\tüñï", now, now, now))
        states.append(("grade", f"{i}:7", 1, f"{i:032x}", now, json.dumps({"userid": i, "note": "a\\b\tc"}), 0))
    return events_, states


def _com_load(store) -> int:
    return int(store.query("SHOW GLOBAL STATUS LIKE 'Com_load'")[0][1])


def test_values_of_every_kind_come_back_exactly_as_they_went_in(mariadb_store):
    writer = mariadb_store.reopen(bulk_load=True)
    assert writer.bulk_load
    rows, states = _rows(writer, 50, payload=lambda i: ODD_BYTES + bytes([i]))
    loads = _com_load(mariadb_store)
    eventlog.write_events(writer, rows, states, new_keys=True)
    writer.commit()
    assert _com_load(mariadb_store) - loads == 2  # events and states, one LOAD each
    back = mariadb_store.query("SELECT event_id, event_type, entity_type, entity_key, sequence, payload, status, "
                               "next_retry_at, source_modified, dag_run_id FROM moodle_sync_event_log ORDER BY id")
    assert [tuple(r) for r in back] == [r[:10] for r in rows]
    kept = mariadb_store.query("SELECT entity_key, content_hash, key_identity FROM moodle_sync_entity_state")
    assert sorted(kept) == sorted((s[1], s[3], s[5]) for s in states)
    writer.close()


@pytest.mark.postgres  # a database it makes on PostgreSQL
def test_postgresql_binary_copy_brings_back_every_kind_of_value_too():
    store = fresh_database("postgres", scratch_db("mzs_test_bulk_pg"), "moodle_sync_db")
    try:
        eventlog.migrate(store)
        rows, states = _rows(store, 150, payload=lambda i: ODD_BYTES + bytes([i]))  # > 100 states: staged COPY
        eventlog.write_events(store, rows, states)
        store.commit()
        back = store.query("SELECT event_id::text, event_type, entity_type, entity_key, sequence, payload, status, "
                           "next_retry_at, source_modified, dag_run_id FROM moodle_sync_event_log ORDER BY id")
        assert [tuple(r) for r in back] == [r[:10] for r in rows]
        kept = store.query("SELECT entity_key, content_hash, key_identity FROM moodle_sync_entity_state")
        assert sorted(kept) == sorted((s[1], s[3], s[5]) for s in states)
    finally:
        store.close()


def test_a_duplicate_is_an_error_not_a_skipped_row_and_the_chunk_is_undone(mariadb_store):
    writer = mariadb_store.reopen(bulk_load=True)
    rows, states = _rows(writer, 20)
    eventlog.write_events(writer, rows[:5], states[:5], new_keys=True)
    writer.commit()
    # LOAD DATA LOCAL turns a duplicate key into a warning; the sync must not lose the other rows' meaning
    with pytest.raises(BulkLoadError, match=r"wrote 15 of 20 rows .*1062 Duplicate entry '\.\.\.'"):
        eventlog.write_events(writer, rows, states, new_keys=True)
    writer.rollback()
    assert mariadb_store.query("SELECT COUNT(*) FROM moodle_sync_event_log")[0][0] == 5
    mariadb_store.commit()
    writer.close()


def test_a_connection_opened_without_bulk_load_sends_no_local_file_and_the_rows_go_in_by_insert(mariadb_store, caplog):
    # every connection but the chunk writers' (the Moodle one above all) is opened so: a server cannot make it
    # send a local file; a writer whose server refuses LOCAL INFILE sees the same refusal
    refused = db.connect("moodle_sync_db")
    refused.bulk_load = True
    rows, states = _rows(refused, 30, payload=lambda i: ODD_BYTES)
    loads = _com_load(mariadb_store)
    with caplog.at_level(logging.WARNING, logger="moodle_sync.outbox.db"):
        eventlog.write_events(refused, rows, states, new_keys=True)
    refused.commit()
    assert not refused.bulk_load and "refuses LOAD DATA LOCAL INFILE" in caplog.text
    assert mariadb_store.query("SELECT COUNT(*), MIN(payload = %s), MAX(payload = %s) FROM moodle_sync_event_log",
                               (ODD_BYTES, ODD_BYTES))[0] == (30, 1, 1)
    mariadb_store.commit()
    assert _com_load(mariadb_store) - loads <= 1  # the refused attempt at most; the rows went in by INSERT
    refused.close()


def test_the_initial_sync_writes_every_chunk_by_load_data_and_later_runs_upsert_states(moodle, mariadb_store):
    from moodle_sync.entities import GRADES
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import Window
    from support.moodle_writes import history_row

    now = int(utcnow().timestamp()) - 5
    loads = _com_load(mariadb_store)
    result = sync_entity(GRADES, moodle, mariadb_store, Window("initial", None, now, now), prefix="mdl_",
                         run_id="test-bulk", chunk_rows=100)
    assert result.events == 736
    chunks = -(-result.read // 100)
    assert _com_load(mariadb_store) - loads == 2 * chunks  # events and new states of every chunk
    # the next run looks states up and upserts them: a regrade (assign->update_grade) moves its key forward
    moodle_exec(moodle, ("UPDATE mdl_grade_grades SET rawgrade = 41, finalgrade = 41, timemodified = %s "
                         "WHERE userid = 104 AND itemid = 30", (now + 1,)),
                history_row(104, 30, 2, now + 1, "mod/assign"))
    assert run_sync("grade", moodle, mariadb_store, now=now + 10).events == 1
    changed = [e for e in events(mariadb_store, "grade") if e["sequence"] == 2]
    assert [(e["entity_key"], e["payload"]["grade_value"]) for e in changed] == [("104:30", 41.0)]
    state = mariadb_store.query("SELECT sequence FROM moodle_sync_entity_state WHERE entity_key = '104:30'")
    mariadb_store.commit()
    assert state == [(2,)]


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_payloads_stored_as_text_before_migration_008_open_after_it_and_are_resealed_as_bytes(dialect):
    store = fresh_database(dialect, scratch_db("mzs_test_upgrade"), "moodle_sync_db")
    try:
        store.execute(store.sql("eventlog", "migrations_table"))
        for version, name, body in migrations(dialect):  # the event log as the version before 008 left it
            if version < 8:
                for statement in split_statements(body):
                    store.execute(statement)
                store.execute(store.sql("eventlog", "record_migration"), {"version": version, "name": name})
        key = parse_keys(TEST_ENCRYPTION_KEY)[0]
        old = {}
        texts = ('{"userid":1,"username":"ana","sequence":1}', '{"userid":2,"city":"Kraków","sequence":1}')
        for n, text in enumerate(texts):
            eid = str(uuid.uuid4())
            nonce = os.urandom(12)
            body = base64.b64encode(nonce + AESGCM(key).encrypt(nonce, text.encode(), eid.encode())).decode()
            sealed = f"enc1:{key_id(key)}:{body}"  # the text form stored before 008
            old[eid] = text
            store.execute("INSERT INTO moodle_sync_event_log (event_id, event_type, entity_type, entity_key, sequence, "
                          "payload, status) VALUES (%s, 'user.created', 'user', %s, 1, %s, 'pending')",
                          (eid, str(n + 1), sealed if n == 0 else text))  # the second one as plain JSON
        store.commit()
        assert eventlog.migrate(store) == [v for v, _, _ in migrations(dialect) if v >= 8]  # 008 and the later ones
        assert {e["event_id"]: json.dumps(e["payload"], ensure_ascii=False, separators=(",", ":"))
                for e in events(store)} == old
        assert maintenance.reseal_payloads(store, cipher_from_connection()) == 2
        stored = [bytes(p) for (p,) in store.query("SELECT payload FROM moodle_sync_event_log")]
        store.commit()
        assert all(p.startswith(cipher_from_connection().current_prefix) for p in stored)
        assert {e["event_id"]: e["payload"]["userid"] for e in events(store)} == {
            eid: json.loads(text)["userid"] for eid, text in old.items()}
    finally:
        store.close()
