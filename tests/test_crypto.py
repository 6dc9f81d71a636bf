"""Payloads at rest: AES-256-GCM under the encryption connection's keys, rotation, refusal without keys."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet

from conftest import TEST_ENCRYPTION_KEY, set_connection
from helpers import events, run_sync
from moodle_sync.crypto import PayloadCipher, cipher_from_connection, key_id, parse_keys
from moodle_sync.sql import ConfigError

EVENT = "0b8f1f5e-2f7c-5d1e-9a0b-3c4d5e6f7a8b"


def cipher(*keys: str) -> PayloadCipher:
    return PayloadCipher(tuple(parse_keys(" ".join(keys))))


def test_a_sealed_payload_opens_to_the_same_json_and_shows_none_of_it():
    old = cipher(Fernet.generate_key().decode())
    payload = '{"email":"olivia@example.org","firstname":"Olivia","sequence":1}'
    sealed = old.seal(payload.encode(), EVENT)
    assert sealed.startswith(old.current_prefix) and "olivia" not in sealed.lower()
    assert old.open(sealed, EVENT) == payload
    assert old.seal(payload.encode(), EVENT) != sealed  # a fresh nonce every time


def test_a_ciphertext_moved_to_another_event_does_not_open():
    c = cipher(Fernet.generate_key().decode())
    sealed = c.seal(b'{"grade":80}', EVENT)
    with pytest.raises(InvalidTag):
        c.open(sealed, "11111111-2222-5333-8444-555555555555")


def test_rotation_newest_key_seals_all_keys_open_and_reseal_moves_old_rows_forward():
    k_old, k_new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = cipher(k_old)
    row = before.seal(b'{"city":"Nairobi"}', EVENT)
    after = cipher(k_new, k_old)
    assert after.current_prefix == f"enc1:{key_id(parse_keys(k_new)[0])}:"
    assert after.open(row, EVENT) == '{"city":"Nairobi"}'
    moved = after.reseal(row, EVENT)
    assert moved.startswith(after.current_prefix) and after.reseal(moved, EVENT) is None
    assert cipher(k_new).open(moved, EVENT) == '{"city":"Nairobi"}'
    with pytest.raises(ConfigError, match="does not hold"):
        cipher(k_new).open(row, EVENT)  # the old key left before its rows were re-encrypted
    # a plain-text row (written with encryption explicitly off) is read as is and sealed by reseal
    assert after.open('{"a":1}', EVENT) == '{"a":1}'
    assert after.reseal('{"a":1}', EVENT).startswith(after.current_prefix)


@pytest.mark.parametrize("password", ["not-a-key", Fernet.generate_key().decode()[:20], "Zm9v"])
def test_a_malformed_key_stops_with_a_message_that_says_how_to_make_one(password):
    with pytest.raises(ConfigError, match="Fernet-format key.*Generate one with"):
        parse_keys(password)


def test_without_the_encryption_connection_the_sync_refuses_unless_plain_text_is_allowed(moodle, store,
                                                                                         monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION")
    with pytest.raises(ConfigError, match="moodle_sync_encryption.*MOODLE_SYNC_ALLOW_PLAINTEXT"):
        run_sync("user", moodle, store)
    assert store.query("SELECT COUNT(*) FROM moodle_sync_event_log")[0][0] == 0
    monkeypatch.setenv("MOODLE_SYNC_ALLOW_PLAINTEXT", "true")
    assert run_sync("user", moodle, store).events == 136
    stored = store.query("SELECT payload FROM moodle_sync_event_log")
    store.commit()
    assert all(json.loads(p) for (p,) in stored)  # plain JSON, as explicitly allowed


def test_the_connection_without_a_key_stops_with_a_clear_message(monkeypatch):
    set_connection("moodle_sync_encryption", "generic://")
    try:
        with pytest.raises(ConfigError, match="has no key in its password"):
            cipher_from_connection()
    finally:
        os.environ["AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION"] = json.dumps(
            {"conn_type": "generic", "password": TEST_ENCRYPTION_KEY})


def _dump(store) -> bytes:
    """The whole event-log database as its own dump tool writes it."""
    name = store.query("SELECT current_database()" if store.dialect == "postgres" else "SELECT DATABASE()")[0][0]
    store.commit()
    if store.dialect == "postgres":
        cmd = ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", name]
    else:
        cmd = ["mariadb-dump", "-h", "127.0.0.1", "-u", "root", name]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def test_a_dump_of_the_event_log_after_the_fixture_sync_holds_no_email_or_name_in_plain_text(moodle, store):
    empty = _dump(store).decode("utf-8", "replace")  # the schema alone: its words are not leaks
    for entity in ("user", "enrolment", "grade"):
        run_sync(entity, moodle, store)
    people = moodle.query("SELECT email, firstname, lastname, username FROM mdl_user "
                          "WHERE deleted = 0 AND username <> 'guest'")
    # the payloads do hold them (decrypted, they are what the backend receives)...
    users = {e["entity_key"]: e["payload"] for e in events(store, "user")}
    assert {p["email"] for p in users.values()} >= {email for email, *_ in people if email}
    # ...but not at rest
    dump = _dump(store).decode("utf-8", "replace")
    assert "moodle_sync_event_log" in dump and "enc1:" in dump
    # a value standing on its own (a short name can occur by chance inside base64 ciphertext, not beside quotes)
    def found(value: str, text: str) -> bool:
        return bool(re.search(rf"(?<![A-Za-z0-9+/]){re.escape(value)}(?![A-Za-z0-9+/=])", text))

    leaked = sorted({value for row in people for value in row if value and found(value, dump)
                     and not found(value, empty)})
    assert leaked == []
    assert re.search(r"(?<![A-Za-z0-9+/])enc1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*", dump)
