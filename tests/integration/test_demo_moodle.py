"""The demo Moodle (our DDL and generator, used by `make demo` and the compose stack) through the real sync:
the seed syncs, and apply_changes' Moodle-like changes yield exactly the events it announces."""

from __future__ import annotations

import time

import pytest

from conftest import fresh_database, scratch_db
from support.helpers import events, run_sync
from moodle_sync.capture.fastpath import log_enabled


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


NOW = 1_800_000_000  # a fixed "now": the generated site and its log do not depend on today's date


def _log(conn, where: str, params=()) -> list[dict]:
    columns = ("id", "eventname", "objecttable", "objectid", "crud", "contextid", "contextlevel", "userid",
               "courseid", "relateduserid", "other", "timecreated")
    rows = conn.query(f"SELECT {', '.join(columns)} FROM mdl_logstore_standard_log WHERE {where} ORDER BY id", params)
    conn.commit()
    return [dict(zip(columns, r)) for r in rows]


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_the_demo_site_logs_what_seed_and_apply_changes_wrote_as_moodle_does(dialect):
    """Issue 12: the log store is enabled, and every write of seed() and apply_changes() has its log row, with
    the object, related user, context and time Moodle gives it (the fixture's rows for each event)."""
    import json

    from demo import moodle_site as demo_moodle

    conn = fresh_database(dialect, scratch_db("mzs_test_demo_log"), "moodle_db")
    try:
        demo_moodle.create_schema(conn, "mdl_")
        seeded = demo_moodle.seed(conn, "mdl_", now=NOW)
        assert log_enabled(conn, "mdl_") is True
        assert conn.query("SELECT value FROM mdl_config_plugins WHERE plugin = 'logstore_standard' "
                          "AND name = 'jsonformat'") == [("1",)]
        created = _log(conn, "eventname = %s", (r"\core\event\user_created",))
        assert sorted(r["objectid"] for r in created) == list(range(3, seeded["user"] + 1))  # not guest, admin
        assert all(r["relateduserid"] == r["objectid"] and r["contextlevel"] == 30 for r in created)
        assert len(_log(conn, "eventname = %s", (r"\core\event\user_enrolment_created",))) > seeded["user_enrolments"]
        deleted = seeded["edge"]["deleted_user"]
        assert [r["eventname"] for r in _log(conn, "relateduserid = %s AND crud = 'd'", (deleted,))][-1] \
            == r"\core\event\user_deleted"
        times = [r["timecreated"] for r in _log(conn, "1 = 1")]
        assert times == sorted(times)  # log ids follow time, as Moodle's do

        changes = demo_moodle.apply_changes(conn, "mdl_", now=NOW + 5)
        ids = changes["ids"]
        fresh = _log(conn, "timecreated = %s", (NOW + 5,))
        edited = [r for r in fresh if r["eventname"] == r"\core\event\user_updated"]
        assert [(r["objectid"], r["relateduserid"]) for r in edited] == [
            (ids["profile_user"], ids["profile_user"]), (ids["suspended_user"], ids["suspended_user"])]
        user_context = conn.query("SELECT id FROM mdl_context WHERE contextlevel = 30 AND instanceid = %s",
                                  (ids["profile_user"],))[0][0]
        assert edited[0]["contextid"] == user_context and edited[0]["objecttable"] == "user"
        suspended = [r for r in fresh if r["eventname"] == r"\core\event\user_enrolment_updated"]
        assert [(r["objectid"], json.loads(r["other"])) for r in suspended] == [
            (ids["suspended_enrolment"], {"enrol": "manual"})]
        graded = [r for r in fresh if r["eventname"] == r"\core\event\user_graded"]
        user, item = ids["regraded_grade"]
        assert {(r["relateduserid"], json.loads(r["other"])["itemid"]) for r in graded} == {
            (user, str(i)) for _, i in [ids["regraded_grade"], *ids["regraded_totals"]]}
        assert [r["userid"] for r in graded if json.loads(r["other"])["itemid"] == str(item)] != [-1]
        assert [r["eventname"] for r in fresh if r["eventname"].endswith("loggedin")] == [r"\core\event\user_loggedin"]
    finally:
        conn.close()


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_the_bench_site_is_logged_and_its_bulk_changes_log_only_while_the_store_is_enabled(dialect):
    """bulk_seed() at a small size: a log row per user, enrolment, role and graded grade, plus the read events;
    apply_bulk_changes() writes its history and log rows, none of the latter with the store disabled."""
    import json

    from demo import moodle_site as demo_moodle

    conn = fresh_database(dialect, scratch_db("mzs_test_demo_log"), "moodle_db")
    try:
        demo_moodle.create_schema(conn, "mdl_")
        built = demo_moodle.bulk_seed(conn, "mdl_", users=300, courses=5, grades=3_000, now=NOW, log_views=2)

        def count(event: str) -> int:
            return int(conn.query("SELECT COUNT(*) FROM mdl_logstore_standard_log WHERE eventname = %s",
                                  (event,))[0][0])

        assert count(r"\core\event\user_created") == built["user"] - 2
        assert count(r"\core\event\user_enrolment_created") == built["user_enrolments"]
        assert count(r"\core\event\role_assigned") == built["role_assignments"]
        graded = conn.query("SELECT COUNT(*) FROM mdl_grade_grades gg JOIN mdl_grade_items gi ON gi.id = gg.itemid "
                            "WHERE gg.finalgrade IS NOT NULL OR gi.itemtype = 'course'")[0][0]
        assert count(r"\core\event\user_graded") == graded
        assert count(r"\core\event\course_viewed") > 0 and count(r"\mod_assign\event\course_module_viewed") > 0
        assert conn.query("SELECT COUNT(*) FROM mdl_grade_grades_history WHERE action = 1")[0][0] == built["grade_grades"]

        keys = demo_moodle.apply_bulk_changes(conn, "mdl_", entity="grade", count=10, now=NOW + 10)
        fresh = _log(conn, "timecreated = %s", (NOW + 10,))
        assert {f"{r['relateduserid']}:{json.loads(r['other'])['itemid']}" for r in fresh} == set(keys)
        assert conn.query("SELECT COUNT(*) FROM mdl_grade_grades_history WHERE timemodified = %s AND action = 2 "
                          "AND source = 'mod/assign'", (NOW + 10,))[0][0] == 10
        assert len(demo_moodle.apply_bulk_changes(conn, "mdl_", entity="user", count=10, now=NOW + 20)) == 10
        assert len(_log(conn, "timecreated = %s AND eventname = %s", (NOW + 20, r"\core\event\user_updated"))) == 10

        demo_moodle.set_log_enabled(conn, "mdl_", False)
        keys = demo_moodle.apply_bulk_changes(conn, "mdl_", entity="enrolment", count=10, now=NOW + 30)
        assert len(keys) == 10 and _log(conn, "timecreated = %s", (NOW + 30,)) == []
        assert conn.query("SELECT COUNT(*) FROM mdl_user_enrolments WHERE timemodified = %s", (NOW + 30,))[0][0] == 10
    finally:
        conn.close()
