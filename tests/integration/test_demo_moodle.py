"""The demo Moodle (our DDL and generator, used by `make demo` and the compose stack) through the real sync:
the seed syncs, and apply_changes' Moodle-like changes yield exactly the events it announces."""

from __future__ import annotations

import time

import pytest

from conftest import fresh_database, scratch_db
from support.helpers import events, run_sync


@pytest.fixture(params=["mysql", "postgres"])
def demo_moodle_db(request):
    from demo import moodle_site as demo_moodle

    conn = fresh_database(request.param, scratch_db("mzs_test_demo_moodle"), "moodle_db")
    demo_moodle.create_schema(conn, "mdl_")
    seeded = demo_moodle.seed(conn, "mdl_", now=int(time.time()) - 60)
    yield conn, seeded
    conn.close()


def test_demo_moodle_syncs_and_its_changes_yield_exactly_the_announced_events(demo_moodle_db, store):
    from demo import moodle_site as demo_moodle

    moodle, seeded = demo_moodle_db
    now = int(time.time())
    first = {e: run_sync(e, moodle, store, now=now) for e in ("user", "enrolment", "grade")}
    assert first["user"].events == seeded["user"] - 1  # all but guest
    assert first["enrolment"].events == seeded["user_enrolments"]
    assert all(r.quarantined == 0 for r in first.values())
    deleted = seeded["edge"]["deleted_user"]
    assert [e for e in events(store, "user") if e["entity_key"] == str(deleted)][0]["event_type"] == "user.deleted"

    changes = demo_moodle.apply_changes(moodle, "mdl_", now=now + 5)
    second = {e: run_sync(e, moodle, store, now=now + 10).events for e in ("user", "enrolment", "grade")}
    assert second == {e: changes[e] for e in ("user", "enrolment", "grade")}


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_the_seed_command_reads_an_airflow_connection_and_keeps_an_existing_site(dialect, capsys):
    """How the compose stack seeds: through the moodle_db connection the DAGs read, and a restart leaves the
    Moodle (and so the event log's view of it) alone."""
    from demo import moodle_site as demo_moodle

    conn = fresh_database(dialect, scratch_db("mzs_test_demo_moodle"), "moodle_db")
    try:
        assert not demo_moodle.has_site(conn, "mdl_")
        assert demo_moodle.main(["--conn-id", "moodle_db", "--keep-existing"]) == 0
        assert demo_moodle.has_site(conn, "mdl_")
        conn.execute("UPDATE mdl_user SET city = 'Kept' WHERE id = 2")
        conn.commit()
        assert demo_moodle.main(["--conn-id", "moodle_db", "--keep-existing"]) == 0
        assert "left as it is" in capsys.readouterr().out
        assert conn.query("SELECT city FROM mdl_user WHERE id = 2") == [("Kept",)]
        conn.commit()
        assert demo_moodle.main(["--conn-id", "moodle_db"]) == 0  # without the flag: a fresh site
        assert conn.query("SELECT city FROM mdl_user WHERE id = 2") != [("Kept",)]
    finally:
        conn.close()
