"""Payloads at rest in a real event log: the sync refuses to write without keys, and a dump of the log holds no
personal data in plain text (the cipher itself: tests/unit/test_crypto.py)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from support.helpers import events, open_dump_blobs, run_sync
from moodle_sync.config import ConfigError


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
    assert all(json.loads(p) for (p,) in stored)  # plain JSON, as explicitly allowed (bytes: json.loads takes them)


def _dump(store) -> bytes:
    """The whole event-log database as its own dump tool writes it."""
    name = store.query("SELECT current_database()" if store.dialect == "postgres" else "SELECT DATABASE()")[0][0]
    store.commit()
    if store.dialect == "postgres":
        cmd = ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", name]
    else:
        cmd = ["mariadb-dump", "-h", "127.0.0.1", "-u", "root", "--hex-blob", name]
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
    dump, sealed = open_dump_blobs(_dump(store))  # plain-text payloads would read as such; sealed ones are elided
    # every payload, and the content hashes' key (moodle_sync_meta), sealed
    assert sealed - 1 == store.query("SELECT COUNT(*) FROM moodle_sync_event_log")[0][0] == 136 + 250 + 736
    store.commit()
    dump = dump.decode("utf-8", "replace")
    assert "moodle_sync_event_log" in dump

    def found(value: str, text: str) -> bool:
        return bool(re.search(rf"(?<![A-Za-z0-9+/]){re.escape(value)}(?![A-Za-z0-9+/=])", text))

    leaked = sorted({value for row in people for value in row if value and found(value, dump)
                     and not found(value, empty)})
    assert leaked == []
