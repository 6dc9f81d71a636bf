"""The same Moodle on MariaDB and on PostgreSQL through the same sync: the same events, one to one.

``moodle`` is the shared Moodle 4.5 fixture on MariaDB; ``moodle_pg`` the same rows copied into PostgreSQL
with Moodle's PostgreSQL column types (tests/moodle_pg.py). Each Moodle syncs into its own event log (the
MariaDB site's into MariaDB, the PostgreSQL site's into PostgreSQL, as two real deployments would), then
the logs are compared: event ids, types, keys, sequences and the payload text byte for byte (so 80.0 and
80.00000 could not pass as "equal"), and the content hashes that decide what a later run emits.
"""

from __future__ import annotations

import time

import pytest

from conftest import fresh_database, scratch_db
from helpers import events, moodle_exec, run_sync
from test_fixture_sync import history_row

ENTITIES = ("user", "enrolment", "grade")


@pytest.fixture
def stores():
    """Two migrated event logs under their own connection ids: one on MariaDB, one on PostgreSQL."""
    from moodle_sync import eventlog

    made = {}
    for dialect in ("mysql", "postgres"):
        made[dialect] = fresh_database(dialect, scratch_db(f"mzs_test_store_{dialect}"), f"mzs_store_{dialect}")
        eventlog.migrate(made[dialect])
    yield made
    for conn in made.values():
        conn.close()


def log_of(store) -> list[tuple]:
    """The event log as comparable rows, in a dialect-independent order, with the payload as stored."""
    rows = store.query("SELECT event_id, event_type, entity_type, entity_key, sequence, payload "
                       "FROM moodle_sync_event_log")
    store.commit()
    return sorted((str(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows)


def states_of(store) -> list[tuple]:
    rows = store.query("SELECT entity_type, entity_key, sequence, content_hash FROM moodle_sync_entity_state")
    store.commit()
    return sorted(rows)


def sync_both(sites, stores, now: int, **kw) -> dict[str, dict[str, int]]:
    return {dialect: {e: run_sync(e, sites[dialect], stores[dialect], now=now, **kw).events for e in ENTITIES}
            for dialect in ("mysql", "postgres")}


def assert_same_logs(stores) -> list[tuple]:
    mysql, postgres = log_of(stores["mysql"]), log_of(stores["postgres"])
    only_mysql = [r for r in mysql if r not in set(postgres)]
    only_postgres = [r for r in postgres if r not in set(mysql)]
    assert not only_mysql and not only_postgres, (only_mysql[:3], only_postgres[:3])
    assert mysql == postgres
    assert states_of(stores["mysql"]) == states_of(stores["postgres"])
    return mysql


def test_the_initial_sync_of_the_same_moodle_on_mariadb_and_postgresql_yields_the_same_events(
        moodle, moodle_pg, stores):
    sites = {"mysql": moodle, "postgres": moodle_pg}
    counts = sync_both(sites, stores, int(time.time()))
    assert counts["mysql"] == counts["postgres"] == {"user": 136, "enrolment": 250, "grade": 736}
    rows = assert_same_logs(stores)
    assert len(rows) == 136 + 250 + 736
    # the decoded payloads too (what a receiver sees), e.g. grades with 5-decimal NUMERIC values
    decoded = {dialect: {e["event_id"]: e["payload"] for e in events(stores[dialect])} for dialect in stores}
    assert decoded["mysql"] == decoded["postgres"]
    values = [p["grade_value"] for p in decoded["postgres"].values() if p.get("grade_value") is not None]
    assert any(v != round(v) for v in values), "the fixture has fractional grades: the comparison covers them"
