"""Keyed content hashes in a real event log (outbox.content_hash): the log alone does not tell the synced values,
two keys give two sets of hashes, rotating keys and converting a log of unkeyed hashes re-send nothing."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from conftest import fresh_database, scratch_db
from support.helpers import FIXTURE_NOW
from support import moodle_writes as mw
from moodle_sync.capture.sync import sync_entity
from moodle_sync.capture.window import resolve_window
from moodle_sync.config import ConfigError
from moodle_sync.entities import BY_NAME
from moodle_sync.ops import maintenance
from moodle_sync.outbox import content_hash, eventlog
from moodle_sync.outbox.crypto import PayloadCipher, parse_keys
from moodle_sync.outbox.entity_store import EntityStore

KEY_A, KEY_B, KEY_C = (Fernet.generate_key().decode() for _ in range(3))


def cipher(*keys: str) -> PayloadCipher:
    return PayloadCipher(tuple(parse_keys(" ".join(keys))))


def sync(entity: str, moodle, store, with_cipher: PayloadCipher, now: int = FIXTURE_NOW):
    window = resolve_window(run_type="manual", interval_start=None, interval_end=None, since=None, until=None,
                            watermark=EntityStore(store, entity).watermark(), now=now)
    return sync_entity(BY_NAME[entity], moodle, store, window, prefix="mdl_", run_id=f"test-{entity}",
                       cipher=with_cipher)


def hashes(store) -> dict[tuple[str, str], str]:
    rows = store.query("SELECT entity_type, entity_key, content_hash FROM moodle_sync_entity_state")
    store.commit()
    return {(e, k): h for e, k, h in rows}


def test_two_keys_store_different_hashes_for_the_same_data(moodle, store):
    other = fresh_database("mysql", scratch_db("mzs_test_store_other"), "moodle_sync_other_db")
    try:
        eventlog.migrate(other)
        for entity in ("user", "grade"):
            assert sync(entity, moodle, store, cipher(KEY_A)).events == sync(entity, moodle, other,
                                                                             cipher(KEY_B)).events > 0
        under_a, under_b = hashes(store), hashes(other)
        assert under_a.keys() == under_b.keys()
        assert not set(under_a.values()) & set(under_b.values())
    finally:
        other.close()


def test_a_rotated_key_re_sends_nothing_and_the_old_key_can_go_after_maintenance(moodle, store):
    first = {entity: sync(entity, moodle, store, cipher(KEY_A)).events for entity in ("user", "enrolment")}
    assert all(first.values())
    before = hashes(store)
    rotated = cipher(KEY_B, KEY_A)  # new key in front: the newest seals, every key opens
    assert {e: sync(e, moodle, store, rotated, now=FIXTURE_NOW + 60).events for e in first} == {"user": 0,
                                                                                                "enrolment": 0}
    maintenance.reseal_payloads(store, rotated)
    assert {e: sync(e, moodle, store, cipher(KEY_B), now=FIXTURE_NOW + 120).events for e in first} == {
        "user": 0, "enrolment": 0}
    assert hashes(store) == before
    with pytest.raises(ConfigError, match="no longer holds.*Put that key back"):
        sync("user", moodle, store, cipher(KEY_C), now=FIXTURE_NOW + 180)
    with pytest.raises(ConfigError, match="holds no key"):
        sync("user", moodle, store, PayloadCipher(), now=FIXTURE_NOW + 180)


def test_a_log_of_unkeyed_hashes_is_converted_once_and_re_sends_nothing(moodle, store, monkeypatch):
    # a sync without keys writes the hashes as every sync did before migration 011: unkeyed
    assert sync("user", moodle, store, PayloadCipher()).events == 136
    unkeyed = hashes(store)
    monkeypatch.setattr(content_hash, "CONVERT_BATCH", 50)  # several batches, each with its cursor
    assert sync("user", moodle, store, cipher(KEY_A), now=FIXTURE_NOW + 60).events == 0
    keyed = hashes(store)
    hasher = content_hash.hasher_for(store, cipher(KEY_A))
    assert keyed == {key: hasher.from_digest(bytes.fromhex(h)) for key, h in unkeyed.items()}
    assert not set(keyed.values()) & set(unkeyed.values())
    assert store.query("SELECT COUNT(*) FROM moodle_sync_meta WHERE name = %(n)s",
                       {"n": content_hash.CURSOR_ROW})[0][0] == 0
    store.commit()
    # once converted, a real change is still one event, and the rest stay unchanged
    mw.update_user(moodle, 2, FIXTURE_NOW + 90, firstname="Renamed")
    assert sync("user", moodle, store, cipher(KEY_A), now=FIXTURE_NOW + 120).events == 1
    changed = {key for key, h in hashes(store).items() if h != keyed[key]}
    assert changed == {("user", "2")}
