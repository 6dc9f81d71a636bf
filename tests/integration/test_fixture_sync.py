"""The shared real Moodle 4.5 fixture through the sync, with the event log on MariaDB and on PostgreSQL.

Changes are written the way Moodle's APIs write them (../shared/moodle/FACTS.md): what bumps
timemodified, what only writes a grade-history row, what writes nothing at all.
"""

from __future__ import annotations

import uuid

import pytest

from support.helpers import FIXTURE_NOW, SITE, by_key, events, moodle_exec, reconcile, run_sync
from support import moodle_writes as mw
from support.moodle_writes import history_row
from moodle_sync.outbox import eventlog
from moodle_sync.capture.sync import EVENT_NAMESPACE


def initial(moodle, store, now):
    return {e: run_sync(e, moodle, store, now=now) for e in ("user", "enrolment", "grade")}


def test_initial_sync_of_the_fixture_yields_136_users_250_enrolments_736_grades(moodle, store):
    results = initial(moodle, store, FIXTURE_NOW)
    assert {e: r.events for e, r in results.items()} == {"user": 136, "enrolment": 250, "grade": 736}
    assert all(r.quarantined == 0 for r in results.values())
    runs = {r["entity"]: r for r in eventlog.last_runs(store)}
    assert {e: (r["mode"], r["events"]) for e, r in runs.items()} == {
        "user": ("initial", 136), "enrolment": ("initial", 250), "grade": ("initial", 736)}
    rows = events(store)
    assert len({r["event_id"] for r in rows}) == len(rows) == 136 + 250 + 736
    assert {r["status"] for r in rows} == {"pending"} and {r["sequence"] for r in rows} == {1}
    assert "1" not in by_key(events(store, "user")), "guest must not be synced"


def test_event_id_is_uuid5_of_site_entity_key_and_sequence(moodle, store):
    run_sync("user", moodle, store)
    for row in events(store, "user"):
        expected = uuid.uuid5(EVENT_NAMESPACE, f"{SITE}:user:{row['entity_key']}:{row['sequence']}")
        assert row["event_id"] == str(expected)


def test_named_fixture_rows_arrive_with_the_right_fields(moodle, store):
    initial(moodle, store, FIXTURE_NOW)
    users = {k: v[0] for k, v in by_key(events(store, "user")).items()}
    assert users["115"]["event_type"] == "user.deleted" and users["115"]["payload"]["deleted"] is True
    assert users["116"]["payload"]["deleted"] is True and users["52"]["payload"]["deleted"] is True
    for uid in ("113", "114"):
        assert users[uid]["payload"]["suspended"] is True and users[uid]["payload"]["deleted"] is False
    assert users["2"]["payload"]["timecreated"] == 0 and users["2"]["payload"]["role"] == "teacher"
    assert users["111"]["payload"]["role"] == "student"

    enrolments = {k: v[0]["payload"] for k, v in by_key(events(store, "enrolment")).items()}
    for ue in ("255", "256", "257", "258", "259"):  # status 0 in the disabled self instance 9
        assert enrolments[ue]["status"] == 0 and enrolments[ue]["active"] is False
    assert enrolments["232"]["active"] is False  # starts in the future
    assert enrolments["233"]["active"] is False  # already ended
    assert enrolments["222"]["active"] is False  # timeend moved into the past
    assert enrolments["221"]["status"] == 1 and enrolments["221"]["active"] is False
    assert enrolments["234"]["active"] is True  # created suspended, reactivated
    assert "220" not in enrolments

    grades = by_key(events(store, "grade"))
    by_id = {v[0]["payload"]["grade_id"]: v[0]["payload"] for v in grades.values()}
    for gid in (6, 11):  # overridden in the gradebook
        assert by_id[gid]["overridden"] > 0 and by_id[gid]["grade_value"] != by_id[gid]["raw_grade"]
    assert "107:29" not in grades  # grade 21 was cleared ("No grade"): nothing to sync yet
    assert by_id[30]["locked"] > 0 and by_id[119]["hidden"] == 1 and by_id[36]["excluded"] > 0
    for gid in (168, 176):  # feedback only
        assert by_id[gid]["grade_value"] is None and by_id[gid]["finalgrade_numeric"] is None
        assert by_id[gid]["feedback"]
    item33 = [v[0]["payload"] for k, v in grades.items() if k.endswith(":33") and v[0]["payload"]["grade_value"]]
    assert len(item33) == 20 and all(p["grademax"] == 50 and p["finalgrade_numeric"] == round(p["grade_value"] * 2, 2)
                          for p in item33)
    item34 = [v[0]["payload"] for k, v in grades.items() if k.endswith(":34")]
    assert item34 and all(p["gradetype"] == 2 and p["scale_index"] == round(p["grade_value"])
                          and p["finalgrade_numeric"] == round((p["grade_value"] - 1) / 2 * 100, 2) for p in item34)
    course_totals = [v[0]["payload"] for k, v in grades.items() if v[0]["payload"]["item_type"] == "course"]
    # totals use the grade's own raw range (203 for most BIO101 students), not the item's 263
    bio = [p for p in course_totals if p["itemid"] == 27 and p["grademax"] != 263]
    assert bio and all(p["finalgrade_numeric"] == round(p["grade_value"] / p["grademax"] * 100, 2) for p in bio)
    assert all(p["assignment_id"] for v in grades.values() for p in [v[0]["payload"]])


def test_a_second_run_with_no_change_yields_no_event(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    again = {e: run_sync(e, moodle, store, now=now + 60).events for e in ("user", "enrolment", "grade")}
    assert again == {"user": 0, "enrolment": 0, "grade": 0}


def test_resyncing_an_already_synced_window_yields_no_event(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    for entity in ("user", "enrolment", "grade"):
        assert run_sync(entity, moodle, store, now=now + 5, since=0, until=now + 5).events == 0
        assert run_sync(entity, moodle, store, now=now + 5, run_type="backfill",
                        interval=(1795744000, 1795746000)).events == 0


def test_moodle_like_changes_yield_exactly_those_events(moodle, store):
    n0 = FIXTURE_NOW
    initial(moodle, store, n0)
    t = n0 + 5
    # user_update_user(): email and city of 111, bumps timemodified, logs user_updated
    mw.update_user(moodle, 111, t, email="olivia.new@example.org", city="Lyon")
    # user_update_user() saving the same values: timemodified bumps and it is logged, content does not change
    mw.update_user(moodle, 120, t)
    # role_assign(): user 136 becomes a student in BIO101 (insert-only table)
    mw.role_assign(moodle, 5, 254, 136, t)
    # update_user_enrol(): suspend ue 234
    mw.update_user_enrol(moodle, 234, t, status=1)
    moodle_exec(
        moodle,
        # a login: lastaccess/currentlogin only, timemodified untouched, no log row read -> no change
        ("UPDATE mdl_user SET lastaccess = %s, currentlogin = %s, lastlogin = currentlogin WHERE id = 112", (t, t)),
        # enrol_plugin::update_status(): disable self instance 15; no timestamp anywhere
        ("UPDATE mdl_enrol SET status = 1 WHERE id = 15", None),
        # assign->update_grade(): regrade 104/30, new finalgrade and timemodified, history action 2
        ("UPDATE mdl_grade_grades SET rawgrade = 41, finalgrade = 41, timemodified = %s WHERE userid = 104 AND itemid = 30", (t,)),
        history_row(104, 30, 2, t, "mod/assign"),
        # grade_grade->set_locked(): locked = time, timemodified unchanged, history with source NULL
        ("UPDATE mdl_grade_grades SET locked = %s WHERE userid = 105 AND itemid = 29", (t,)),
        history_row(105, 29, 2, t, None),
        # "No grade" on a synced grade: value, feedback and timemodified go NULL; only history shows it
        ("UPDATE mdl_grade_grades SET rawgrade = NULL, finalgrade = NULL, feedback = NULL, timemodified = NULL "
         "WHERE userid = 106 AND itemid = 29", None),
        history_row(106, 29, 2, t, "mod/assign"),
    )
    n1 = n0 + 10
    results = {e: run_sync(e, moodle, store, now=n1) for e in ("user", "enrolment", "grade")}
    assert {e: r.events for e, r in results.items()} == {"user": 2, "enrolment": 2, "grade": 3}

    new = [e for e in events(store) if e["sequence"] == 2]
    got = {(e["entity_type"], e["entity_key"]) for e in new}
    assert got == {("user", "111"), ("user", "136"), ("enrolment", "234"), ("enrolment", "237"),
                   ("grade", "104:30"), ("grade", "105:29"), ("grade", "106:29")}
    payload = {(e["entity_type"], e["entity_key"]): e["payload"] for e in new}
    assert payload[("user", "111")]["email"] == "olivia.new@example.org"
    assert payload[("user", "136")]["role"] == "student"
    assert payload[("enrolment", "234")]["status"] == 1 and payload[("enrolment", "234")]["active"] is False
    assert payload[("enrolment", "237")]["active"] is False and payload[("enrolment", "237")]["status"] == 0
    assert payload[("grade", "104:30")]["grade_value"] == 41 and payload[("grade", "104:30")]["finalgrade_numeric"] == 82
    assert payload[("grade", "105:29")]["locked"] == t
    cleared = payload[("grade", "106:29")]
    assert cleared["grade_value"] is None and cleared["finalgrade_numeric"] is None
    assert all(e["event_type"].endswith(".updated") for e in new)

    # and nothing more when the same window is read again
    assert [run_sync(e, moodle, store, now=n1 + 5).events for e in ("user", "enrolment", "grade")] == [0, 0, 0]


def test_time_passing_alone_changes_the_active_flag(moodle, store):
    n0 = FIXTURE_NOW
    initial(moodle, store, n0)
    timestart = moodle.query("SELECT timestart FROM mdl_user_enrolments WHERE id = 232")[0][0]
    later = timestart + 200  # nothing in Moodle is written when an enrolment starts
    result = run_sync("enrolment", moodle, store, now=later)
    started = {e["entity_key"]: e for e in events(store, "enrolment") if e["sequence"] == 2}
    assert "232" in started and started["232"]["payload"]["active"] is True
    assert result.events == len(started)
    # every other flipped enrolment really flipped by the clock
    for key, e in started.items():
        p = e["payload"]
        assert p["timestart"] > n0 - 400 or (p["timeend"] and p["timeend"] > n0 - 400), key


def test_a_change_moodle_did_not_log_is_found_by_reconciliation_not_by_a_scan(moodle, store):
    """With the log store on, an incremental run re-reads what the log and grade history name, never scans: a
    row written behind Moodle's APIs (no log row) waits for the daily reconciliation, which finds it."""
    n0 = FIXTURE_NOW
    initial(moodle, store, n0)
    t = n0 + 5
    moodle_exec(
        moodle,
        ("UPDATE mdl_user SET city = 'Oslo', timemodified = %s WHERE id = 117", (t,)),
        ("UPDATE mdl_user_enrolments SET status = 1, timemodified = %s WHERE id = 234", (t,)),
        ("UPDATE mdl_grade_grades SET finalgrade = 12, timemodified = %s WHERE userid = 109 AND itemid = 29", (t,)),
    )
    assert [run_sync(e, moodle, store, now=t + 5).events for e in ("user", "enrolment", "grade")] == [0, 0, 0]
    assert [reconcile(e, moodle, store, now=t + 10).events for e in ("user", "enrolment", "grade")] == [1, 1, 1]
    latest = {e["entity_type"]: e["payload"] for e in events(store) if e["sequence"] == 2}
    assert latest["user"]["city"] == "Oslo" and latest["enrolment"]["status"] == 1
    assert latest["grade"]["grade_value"] == 12


def test_an_event_log_from_before_flips_were_kept_fills_them_once(moodle, store):
    """Upgrading: states synced before migration 013 have no flips. The first run reads once the enrolments whose
    start or end is still ahead (no event: nothing changed), then their flips come due like any other."""
    n0 = FIXTURE_NOW
    initial(moodle, store, n0)
    store.execute("DELETE FROM moodle_sync_flip")
    store.execute("DELETE FROM moodle_sync_meta WHERE name = 'flips_kept:enrolment'")
    store.commit()
    assert run_sync("enrolment", moodle, store, now=n0 + 10).events == 0
    assert run_sync("enrolment", moodle, store, now=n0 + 20).read == 0  # filled: no scan again
    flips = dict(store.query("SELECT entity_key, due_at FROM moodle_sync_flip WHERE entity_type = 'enrolment'"))
    store.commit()
    timestart = moodle.query("SELECT timestart FROM mdl_user_enrolments WHERE id = 232")[0][0]
    assert flips["232"] == (timestart // 100 + 1) * 100
    run_sync("enrolment", moodle, store, now=timestart + 200)
    started = by_key(events(store, "enrolment"))["232"]
    assert [e["payload"]["active"] for e in started] == [False, True]


def test_a_to_b_and_back_to_a_yields_three_events_with_distinct_ids(moodle, store):
    now = FIXTURE_NOW
    run_sync("user", moodle, store, now=now)
    original = moodle.query("SELECT city FROM mdl_user WHERE id = 117")[0][0]
    for step, city in enumerate(["Nairobi", original], start=1):
        t = now + 10 * step
        mw.update_user(moodle, 117, t, city=city)
        moodle.commit()
        assert run_sync("user", moodle, store, now=t + 5).events == 1
    history = by_key(events(store, "user"))["117"]
    assert [e["sequence"] for e in history] == [1, 2, 3]
    assert [e["payload"]["city"] for e in history] == [original, "Nairobi", original]
    assert len({e["event_id"] for e in history}) == 3


def test_bad_rows_are_quarantined_with_their_reason_and_the_batch_goes_on(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    t = now + 5
    moodle_exec(
        moodle,
        ("INSERT INTO mdl_grade_grades (itemid, userid, rawgrade, finalgrade, rawgrademax, rawgrademin, timemodified) "
         "VALUES (29, 999999, 50, 50, 100, 0, %s)", (t,)),
        history_row(999999, 29, 1, t, "mod/assign"),
        ("INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, timecreated, "
         "timemodified) VALUES (0, 9999, 103, 0, 0, 2, %s, %s)", (t, t)),
        ("UPDATE mdl_grade_grades SET finalgrade = 77, timemodified = %s WHERE userid = 108 AND itemid = 29", (t,)),
        history_row(108, 29, 2, t, "mod/assign"),
    )
    orphan = moodle.query("SELECT MAX(id) FROM mdl_user_enrolments WHERE enrolid = 9999")[0][0]
    mw.log_event(moodle, t, r"\core\event\user_enrolment_created", action="created", target="user_enrolment",
                 objecttable="user_enrolments", objectid=orphan, crud="c", edulevel=0, contextid=1, contextlevel=50,
                 contextinstanceid=0, courseid=0, relateduserid=103, other={"enrol": "manual"})
    moodle.commit()
    grades = run_sync("grade", moodle, store, now=t + 5)
    enrolments = run_sync("enrolment", moodle, store, now=t + 5)
    assert (grades.quarantined, grades.events) == (1, 1)
    assert grades.quarantine_reasons == {"user missing": 1}
    assert (enrolments.quarantined, enrolments.events) == (1, 0)
    assert enrolments.quarantine_reasons == {"enrolment method instance missing": 1}
    rows = store.query("SELECT entity_type, entity_key, reason, times_seen FROM moodle_sync_quarantine ORDER BY id")
    assert [r[:3] for r in rows] == [("grade", "999999:29", "user missing"),
                                     ("enrolment", rows[1][1], "enrolment method instance missing")]
    # seen again on a resync: counted, still not an event, never dropped silently
    run_sync("grade", moodle, store, now=t + 6, since=t - 1, until=t + 6)
    assert store.query("SELECT times_seen FROM moodle_sync_quarantine WHERE entity_key = '999999:29'")[0][0] == 2
    store.commit()


def test_without_grade_history_changes_are_read_from_grade_timemodified(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    t = now + 5
    moodle_exec(
        moodle,
        ("UPDATE mdl_config SET value = '1' WHERE name = 'disablegradehistory'", None),
        ("UPDATE mdl_grade_grades SET finalgrade = 12, timemodified = %s WHERE userid = 109 AND itemid = 29", (t,)),
    )
    assert run_sync("grade", moodle, store, now=t + 5).events == 1
    assert by_key(events(store, "grade"))["109:29"][-1]["payload"]["grade_value"] == 12


def test_migrations_are_idempotent_and_versioned(store):
    assert eventlog.migrate(store) == []
    from moodle_sync.outbox.sql import migrations

    expected = [(version,) for version, _, _ in migrations(store.dialect)]
    assert len(expected) >= 3
    assert store.query("SELECT version FROM moodle_sync_schema_migrations ORDER BY version") == expected
    store.commit()


def test_a_custom_table_prefix_from_the_connection_is_used(moodle, store, monkeypatch):
    tables = ["config", "user", "role", "role_assignments", "enrol", "user_enrolments", "course", "grade_items",
              "grade_grades", "grade_grades_history"]
    moodle.execute("RENAME TABLE " + ", ".join(f"mdl_{t} TO m2_{t}" for t in tables))
    moodle.commit()
    from conftest import MYSQL_URI, set_connection, scratch_db
    from moodle_sync.outbox.db import table_prefix

    set_connection("moodle_db", MYSQL_URI.format(db=scratch_db("mzs_test_moodle")) + "?table_prefix=m2_")
    assert table_prefix("moodle_db") == "m2_"
    assert run_sync("user", moodle, store, prefix=table_prefix("moodle_db")).events == 136
    set_connection("moodle_db", MYSQL_URI.format(db=scratch_db("mzs_test_moodle")) + "?table_prefix=m2_%3B%20DROP")
    from moodle_sync.config import ConfigError

    with pytest.raises(ConfigError, match="table_prefix"):
        table_prefix("moodle_db")


def _analyzed(store) -> int:
    """ANALYZE statements run so far (MariaDB, server-wide) or run on the event log (PostgreSQL)."""
    if store.dialect == "mysql":
        count = int(store.query("SHOW GLOBAL STATUS LIKE 'Com_analyze'")[0][1])
    else:
        count = int(store.query("SELECT analyze_count FROM pg_stat_user_tables "
                                "WHERE relname = 'moodle_sync_event_log'")[0][0])
    store.commit()
    return count


def test_a_sync_that_wrote_many_events_refreshes_the_planner_statistics(moodle, store, monkeypatch):
    """The claim's plan depends on them (tests/integration/test_retry.py: a claim under a large backlog)."""
    from moodle_sync.capture import sync

    monkeypatch.setattr(sync, "STATISTICS_AFTER_EVENTS", 500)
    now = FIXTURE_NOW
    assert run_sync("user", moodle, store, now=now).events == 136
    before = _analyzed(store)
    assert run_sync("enrolment", moodle, store, now=now).events == 250  # fewer than 500: no ANALYZE
    assert _analyzed(store) == before
    assert run_sync("grade", moodle, store, now=now).events == 736
    assert _analyzed(store) == before + 1
