"""Payloads at rest: AES-256-GCM under the encryption connection's keys, rotation, refusal of a bad key."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import TEST_ENCRYPTION_KEY, set_connection
from moodle_sync.outbox.crypto import PayloadCipher, cipher_from_connection, key_id, parse_keys
from moodle_sync.config import ConfigError

EVENT = "0b8f1f5e-2f7c-5d1e-9a0b-3c4d5e6f7a8b"


def cipher(*keys: str) -> PayloadCipher:
    return PayloadCipher(tuple(parse_keys(" ".join(keys))))


def test_a_sealed_payload_opens_to_the_same_json_and_shows_none_of_it():
    old = cipher(Fernet.generate_key().decode())
    payload = '{"email":"olivia@example.org","firstname":"Olivia","sequence":1}'
    sealed = old.seal(payload.encode(), EVENT)
    assert sealed.startswith(old.current_prefix) and b"olivia" not in sealed.lower()
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
    assert after.current_prefix == f"enc2:{key_id(parse_keys(k_new)[0])}:".encode()
    assert after.open(row, EVENT) == '{"city":"Nairobi"}'
    moved = after.reseal(row, EVENT)
    assert moved.startswith(after.current_prefix) and after.reseal(moved, EVENT) is None
    assert cipher(k_new).open(moved, EVENT) == '{"city":"Nairobi"}'
    with pytest.raises(ConfigError, match="does not hold"):
        cipher(k_new).open(row, EVENT)  # the old key left before its rows were re-encrypted
    # a plain-text row (written with encryption explicitly off) is read as is and sealed by reseal
    assert after.open(b'{"a":1}', EVENT) == '{"a":1}'
    assert after.reseal(b'{"a":1}', EVENT).startswith(after.current_prefix)


def test_a_payload_stored_as_base64_before_migration_008_still_opens_and_reseal_makes_it_binary():
    key = Fernet.generate_key().decode()
    raw_key = parse_keys(key)[0]
    nonce = os.urandom(12)
    body = AESGCM(raw_key).encrypt(nonce, b'{"city":"Lima"}', EVENT.encode())
    old_form = f"enc1:{key_id(raw_key)}:{base64.b64encode(nonce + body).decode()}"  # what a text column held
    c = cipher(key)
    assert c.open(old_form, EVENT) == c.open(old_form.encode(), EVENT) == '{"city":"Lima"}'
    moved = c.reseal(old_form.encode(), EVENT)  # same key, older form: re-encrypted into the binary one
    assert moved.startswith(c.current_prefix) and len(moved) < len(old_form) and c.open(moved, EVENT) == '{"city":"Lima"}'


def test_nonces_never_repeat_within_a_process_or_across_a_fork():
    c = cipher(Fernet.generate_key().decode())
    nonce = lambda: c.seal(b"{}", EVENT)[len(c.current_prefix):][:12]  # noqa: E731
    seen = {nonce() for _ in range(10_000)}  # more than one block of nonces drawn from the OS
    assert len(seen) == 10_000
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child seals with the block it inherited, unless that block was dropped at the fork
        os.write(writer, b"".join(nonce() for _ in range(100)))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(reader, 1200)
    parent = [nonce() for _ in range(100)]
    assert len(child) == 1200 and not {child[i:i + 12] for i in range(0, 1200, 12)} & (set(parent) | seen)


@pytest.mark.parametrize("password", ["not-a-key", pytest.param(Fernet.generate_key().decode()[:20], id="truncated"),
                                      "Zm9v"])
def test_a_malformed_key_stops_with_a_message_that_says_how_to_make_one(password):
    with pytest.raises(ConfigError, match="Fernet-format key.*Generate one with"):
        parse_keys(password)


def test_the_connection_without_a_key_stops_with_a_clear_message(monkeypatch):
    set_connection("moodle_sync_encryption", "generic://")
    try:
        with pytest.raises(ConfigError, match="has no key in its password"):
            cipher_from_connection()
    finally:
        os.environ["AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION"] = json.dumps(
            {"conn_type": "generic", "password": TEST_ENCRYPTION_KEY})
