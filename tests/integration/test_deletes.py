"""Hard deletes on the real Moodle 4.5 fixture: unenrolment, user deletion, gradebook reset, a role unassigned,
an enrolment method disabled. Each yields the right events exactly once, through the fast path (log and grade
history read by id cursor) and again through reconciliation alone (log emptied, history deletes removed).
Moodle's writes are replicated row for row by tests/support/moodle_writes.py."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from support import moodle_writes as mw
from support.helpers import FIXTURE_NOW, SITE, by_key, events, moodle_exec, reconcile, run_sync
from moodle_sync.capture import deletes
from moodle_sync.outbox.entity_store import EntityStore
from moodle_sync.outbox import payloads
from moodle_sync.delivery import profiles
from moodle_sync.capture.sync import EVENT_NAMESPACE

ENTITIES = ("user", "enrolment", "grade")


def initial(moodle, store, now):
    return {e: run_sync(e, moodle, store, now=now) for e in ENTITIES}


def synced(store, entity, **match) -> set[str]:
    """Keys whose first event's payload matches ``match`` (what the sync believes exists)."""
    return {k for k, evs in by_key(events(store, entity)).items()
            if all(evs[0]["payload"].get(f) == v for f, v in match.items())}


def new_events(store, since_id_count: int) -> list[dict]:
    return events(store)[since_id_count:]


# Each scenario: (what it does to Moodle, the events it must yield computed from the synced state before it).
def unenrol_last(moodle, store, t):
    expected = {("enrolment", "222", "enrolment.deleted"), ("user", "118", "user.updated")}
    grades = synced(store, "grade", userid=118, courseid=6)
    assert len(grades) == 5
    expected |= {("grade", k, "grade.deleted") for k in grades}
    mw.unenrol_user(moodle, 222, t)  # user 118's only enrolment: roles and grades of BIO101 go too
    return expected


def unenrol_one_of_two(moodle, store, t):
    grades = synced(store, "grade", userid=117, courseid=7)
    assert len(grades) == 2
    mw.unenrol_user(moodle, 253, t)  # user 117 stays a student in BIO101: no user event
    return {("enrolment", "253", "enrolment.deleted")} | {("grade", k, "grade.deleted") for k in grades}


def user_deletion(moodle, store, t):
    grades = synced(store, "grade", userid=104)
    assert len(grades) == 12
    mw.delete_user(moodle, 104, t)
    return ({("user", "104", "user.deleted")} | {("enrolment", k, "enrolment.deleted") for k in ("208", "240", "256")}
            | {("grade", k, "grade.deleted") for k in grades})


def grade_reset(moodle, store, t):
    grades = synced(store, "grade", courseid=7)
    assert len(grades) == 24
    mw.reset_course_grades(moodle, 7, t)
    return {("grade", k, "grade.deleted") for k in grades}


def role_unassigned(moodle, store, t):
    ra = mw._rows(moodle, "SELECT * FROM mdl_role_assignments WHERE id = 236")[0]  # user 135, teacher in BIO101
    mw.role_unassign(moodle, ra, t)
    moodle.commit()
    return {("user", "135", "user.updated")}


def instance_disabled(moodle, store, t):
    active = synced(store, "enrolment", courseid=6, enrol_method="manual", active=True)
    assert len(active) > 20
    mw.disable_instance(moodle, 13)  # BIO101's manual method: nothing but enrol.status changes
    return {("enrolment", k, "enrolment.updated") for k in active}


SCENARIOS = {f.__name__: f for f in (unenrol_last, unenrol_one_of_two, user_deletion, grade_reset, role_unassigned,
                                     instance_disabled)}


def check_new(store, before: int, expected: set) -> list[dict]:
    new = new_events(store, before)
    got = [(e["entity_type"], e["entity_key"], e["event_type"]) for e in new]
    assert len(got) == len(set(got)), "a key got two events"
    assert set(got) == expected
    for e in new:
        assert e["event_id"] == str(uuid.uuid5(EVENT_NAMESPACE,
                                               f"{SITE}:{e['entity_type']}:{e['entity_key']}:{e['sequence']}"))
        assert e["sequence"] == e["payload"]["sequence"] == 2
    return new


def check_payloads(new: list[dict]) -> None:
    for e in new:
        p = e["payload"]
        if e["event_type"] == "enrolment.deleted":
            assert p["enrollment_id"] == int(e["entity_key"]) and p["deleted"] is True and p["active"] is False
            assert p["userid"] and p["courseid"] and p["enrol_method"] in ("manual", "self")
        elif e["event_type"] == "grade.deleted":
            userid, itemid = map(int, e["entity_key"].split(":"))
            assert (p["userid"], p["itemid"], p["deleted"]) == (userid, itemid, True)
            assert p["courseid"] and p["assignment_id"] and p["grade_id"]
            assert p["grade_value"] is None and p["finalgrade_numeric"] is None and p["feedback"] is None
            # names (never null: the legacy backend writes them over its record, issue 11), no username or email
            assert p["user_email"] is None and p["user_username"] is None
            assert p["user_fullname"] and p["course_name"] and p["status"] == "deleted"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_delete_yields_its_events_once_through_the_fast_path(moodle, store, scenario):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    before = len(events(store))
    expected = SCENARIOS[scenario](moodle, store, now + 5)
    results = {e: run_sync(e, moodle, store, now=now + 10) for e in ENTITIES}
    new = check_new(store, before, expected)
    check_payloads(new)
    assert sum(r.deleted for r in results.values()) == sum(t.endswith(".deleted") and ent != "user"
                                                           for ent, _, t in expected)
    # the same keys again (re-read window, overlapping window, the log's and history's rows for one grade):
    # nothing; and reconciliation agrees that nothing is missing
    assert [run_sync(e, moodle, store, now=now + 20).events for e in ENTITIES] == [0, 0, 0]
    assert [reconcile(e, moodle, store, now=now + 30).events for e in ENTITIES] == [0, 0, 0]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_delete_yields_the_same_events_through_reconciliation_alone(moodle, store, scenario, monkeypatch):
    monkeypatch.setattr(deletes, "BATCH_KEYS", 50)  # many pages: the walk's memory is one page
    now = FIXTURE_NOW
    initial(moodle, store, now)
    before = len(events(store))
    expected = SCENARIOS[scenario](moodle, store, now + 5)
    mw.purge_log_and_history_deletes(moodle)
    results = {e: reconcile(e, moodle, store, now=now + 10) for e in ENTITIES}
    new = check_new(store, before, expected)
    check_payloads(new)
    assert {e: (r.deleted, r.events - r.deleted) for e, r in results.items()} == {
        e: (sum(1 for ent, _, t in expected if ent == e and t.endswith(".deleted") and e != "user"),
            sum(1 for ent, _, t in expected if ent == e and not (t.endswith(".deleted") and e != "user")))
        for e in ENTITIES}
    # a second reconciliation, and the regular syncs after it, find nothing
    assert [reconcile(e, moodle, store, now=now + 20).events for e in ENTITIES] == [0, 0, 0]
    assert [run_sync(e, moodle, store, now=now + 30).events for e in ENTITIES] == [0, 0, 0]


def test_reconcile_right_after_an_initial_sync_finds_nothing(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    results = {e: reconcile(e, moodle, store, now=now + 5) for e in ENTITIES}
    assert {e: (r.deleted, r.events) for e, r in results.items()} == {e: (0, 0) for e in ENTITIES}
    assert results["grade"].read == 2356  # every row was re-checked, empty ones included


def test_reconcile_catches_a_change_that_slipped_past_the_watermark(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    # a lock written without its history row (history disabled for a moment, or a raw fix): no timestamp
    moodle_exec(moodle, ("UPDATE mdl_grade_grades SET locked = %s WHERE userid = 108 AND itemid = 29", (now + 5,)))
    assert run_sync("grade", moodle, store, now=now + 10).events == 0
    result = reconcile("grade", moodle, store, now=now + 15)
    assert (result.deleted, result.events) == (0, 1)
    changed = by_key(events(store, "grade"))["108:29"]
    assert [e["event_type"] for e in changed] == ["grade.created", "grade.updated"]
    assert changed[-1]["payload"]["locked"] == now + 5
    assert reconcile("grade", moodle, store, now=now + 20).events == 0


def test_a_deleted_key_that_comes_back_continues_its_sequence(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    mw.reset_course_grades(moodle, 7, now + 5)
    run_sync("grade", moodle, store, now=now + 10)
    # the module pushes its grade again (grade_grab_course_grades after a reset): a new row, history action 1
    moodle_exec(
        moodle,
        ("INSERT INTO mdl_grade_grades (itemid, userid, rawgrade, finalgrade, rawgrademax, rawgrademin, "
         "timecreated, timemodified) VALUES (36, 105, 81, 81, 100, 0, NULL, %s)", (now + 15,)),
        ("INSERT INTO mdl_grade_grades_history (action, oldid, source, timemodified, loggeduser, itemid, userid, "
         "rawgrade, rawgrademax, rawgrademin, finalgrade) SELECT 1, id, 'mod/assign', %s, 2, itemid, userid, "
         "rawgrade, rawgrademax, rawgrademin, finalgrade FROM mdl_grade_grades WHERE userid = 105 AND itemid = 36",
         (now + 15,)),
    )
    assert run_sync("grade", moodle, store, now=now + 20).events == 1
    mw.unenrol_user(moodle, 241, now + 25)  # user 105 leaves CHEM201: the grade goes again
    assert run_sync("grade", moodle, store, now=now + 30).events == 1
    history = by_key(events(store, "grade"))["105:36"]
    assert [(e["event_type"], e["sequence"]) for e in history] == [
        ("grade.created", 1), ("grade.deleted", 2), ("grade.created", 3), ("grade.deleted", 4)]
    assert history[2]["payload"]["grade_value"] == 81
    assert len({e["event_id"] for e in history}) == 4
    assert [run_sync("grade", moodle, store, now=now + 40).events, reconcile("grade", moodle, store).events] == [0, 0]


def test_php_serialized_log_rows_feed_the_fast_path(moodle, store):
    """jsonformat off: ``other`` is PHP-serialized. With no history deletes, the grade keys can only come from
    the log's grade_deleted ``other``; with states kept before their ids were (migration 004), the
    enrolment's user, course and method can only come from user_enrolment_deleted's ``other``."""
    now = FIXTURE_NOW
    initial(moodle, store, now)
    store.execute("UPDATE moodle_sync_entity_state SET key_identity = NULL")
    store.commit()
    moodle_exec(moodle, ("UPDATE mdl_config_plugins SET value = '0' WHERE plugin = 'logstore_standard' "
                         "AND name = 'jsonformat'", None))
    before = len(events(store))
    grades = synced(store, "grade", userid=118, courseid=6)
    mw.unenrol_user(moodle, 222, now + 5)
    assert moodle.query("SELECT other FROM mdl_logstore_standard_log ORDER BY id DESC LIMIT 1")[0][0].startswith(
        'a:2:{s:13:"userenrolment";a:12:{s:2:"id";s:3:"222";')
    moodle_exec(moodle, ("DELETE FROM mdl_grade_grades_history WHERE action = 3", None))
    for entity in ENTITIES:
        run_sync(entity, moodle, store, now=now + 10)
    new = {(e["entity_type"], e["entity_key"]): e for e in new_events(store, before)}
    assert set(new) == {("enrolment", "222"), ("user", "118")} | {("grade", k) for k in grades}
    ue = new[("enrolment", "222")]["payload"]
    assert (ue["userid"], ue["courseid"], ue["enrol_method"], ue["deleted"]) == (118, 6, "manual", True)
    for key in grades:
        p = new[("grade", key)]["payload"]
        assert (p["courseid"], p["deleted"], p["grade_value"]) == (6, True, None) and p["grade_id"]


def test_the_fast_path_is_optional(moodle, store, caplog):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    moodle_exec(moodle, ("UPDATE mdl_config_plugins SET value = '' WHERE plugin = 'tool_log' "
                         "AND name = 'enabled_stores'", None))
    mw.unenrol_user(moodle, 253, now + 5)  # (the test writes the rows; a disabled store would not)
    with caplog.at_level(logging.INFO, logger="moodle_sync"):
        result = run_sync("enrolment", moodle, store, now=now + 10)
    assert (result.events, result.deleted) == (0, 0)
    assert any("standard log store is not enabled" in r.message and r.levelno == logging.INFO for r in caplog.records)
    assert run_sync("grade", moodle, store, now=now + 10).deleted == 2  # the grade history still tells
    assert reconcile("enrolment", moodle, store, now=now + 15).deleted == 1

    # no log table at all (a Moodle without logstore_standard): the same, no error
    moodle_exec(moodle, ("DROP TABLE mdl_logstore_standard_log", None),
                ("UPDATE mdl_config_plugins SET value = 'logstore_standard' WHERE plugin = 'tool_log' "
                 "AND name = 'enabled_stores'", None))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="moodle_sync"):
        assert run_sync("user", moodle, store, now=now + 20).events == 0
    assert any("fast path 'log' unavailable" in r.message and r.levelno == logging.INFO for r in caplog.records)


def test_log_rows_that_commit_late_below_the_cursor_are_read_again(moodle, store):
    """The log is written in buffered batches and history rows commit with their transaction: a row can appear
    below the cursor. The re-read window reads the last ids again and takes only the rows it had not taken."""
    now = FIXTURE_NOW
    initial(moodle, store, now)
    top = moodle.query("SELECT MAX(id) FROM mdl_logstore_standard_log")[0][0]
    # a later request's row is visible first (id top + 100); the run's cursor moves to it
    mw.log_event(moodle, now + 5, r"\core\event\user_loggedin", action="loggedin", target="user",
                 objecttable="user", objectid=2, crud="r", edulevel=0, contextid=1, contextlevel=10,
                 contextinstanceid=0, courseid=0, relateduserid=None, other={"username": "admin"}, log_id=top + 100)
    moodle.commit()
    previous = run_sync("enrolment", moodle, store, now=now + 6)  # the initial sync took the rows below
    assert EntityStore(store, "enrolment").cursors() == {"log": top + 100}
    # the unenrolment's transaction took ids below that, and commits now
    moodle.execute("DELETE FROM mdl_user_enrolments WHERE id = 253")
    mw.log_event(moodle, now + 5, r"\core\event\user_enrolment_deleted", action="deleted", target="user_enrolment",
                 objecttable="user_enrolments", objectid=253, crud="d", edulevel=0, contextid=255, contextlevel=50,
                 contextinstanceid=7, courseid=7, relateduserid=117,
                 other={"userenrolment": {"id": "253", "userid": "117", "enrolid": "16",
                                          "courseid": "7", "enrol": "manual", "lastenrol": True},
                        "enrol": "manual"}, log_id=top + 50)
    moodle.commit()
    first = run_sync("enrolment", moodle, store, now=now + 12)
    assert (previous.candidates, first.candidates, first.deleted) == (0, 1, 1)  # only the late row
    again = run_sync("enrolment", moodle, store, now=now + 14)  # the same rows, read again: none taken
    assert (again.candidates, again.deleted, again.events) == (0, 0, 0)


def test_a_truncated_log_is_read_from_its_start(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    moodle_exec(moodle, ("TRUNCATE TABLE mdl_logstore_standard_log", None),
                ("DELETE FROM mdl_grade_grades_history WHERE action = 3", None))
    mw.unenrol_user(moodle, 253, now + 5)  # its log rows get ids 1, 2, ... again
    assert moodle.query("SELECT MAX(id) FROM mdl_logstore_standard_log")[0][0] < 10
    result = run_sync("enrolment", moodle, store, now=now + 10)
    assert result.deleted == 1
    assert run_sync("grade", moodle, store, now=now + 10).deleted == 2  # from the log's grade_deleted rows


def test_one_sync_of_an_entity_at_a_time(moodle, store):
    holder = store.reopen()
    try:
        with EntityStore(holder, "grade").lock():
            with pytest.raises(TimeoutError, match="grade"):
                from moodle_sync.entities import BY_NAME
                from moodle_sync.capture.sync import sync_entity
                from moodle_sync.capture.window import Window

                sync_entity(BY_NAME["grade"], moodle, store, Window("reconcile", None, 1, 1), prefix="mdl_",
                            lock_timeout=1.5)
            assert run_sync("user", moodle, store).events == 136  # other entities go on
        assert run_sync("grade", moodle, store).events == 736  # released
    finally:
        holder.close()


def test_delete_events_go_out_as_the_backend_expects(moodle, store):
    now = FIXTURE_NOW
    initial(moodle, store, now)
    before = len(events(store))
    mw.unenrol_user(moodle, 222, now + 5)
    for entity in ENTITIES:
        run_sync(entity, moodle, store, now=now + 10)
    new = {e["event_type"]: e for e in new_events(store, before)}
    ue, grade = new["enrolment.deleted"], new["grade.deleted"]

    body = json.loads(profiles.legacy(ue["event_id"], ue["event_type"], json.dumps(ue["payload"]), now=now))
    assert body["event_type"] == "enrollment_deleted"
    assert {k: body["event_data"][k] for k in ("enrollment_id", "userid", "courseid", "enrol_method")} == {
        "enrollment_id": 222, "userid": 118, "courseid": 6, "enrol_method": "manual"}
    body = json.loads(profiles.legacy(grade["event_id"], grade["event_type"], json.dumps(grade["payload"]), now=now))
    assert body["event_type"] == "grade_updated"
    data = body["event_data"]
    assert data["deleted"] is True and data["finalgrade"] is None and data["finalgrade_numeric"] is None
    assert data["student_id"] == 118 and data["course_id"] == 6 and data["assignment_id"]

    for e, wire in ((ue, "enrolment.deleted"), (grade, "grade.deleted")):
        body = json.loads(profiles.standard(e["event_id"], e["event_type"], json.dumps(e["payload"]), now=now))
        assert body["type"] == wire and body["data"]["deleted"] is True


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
@pytest.mark.parametrize("path", ["fast_path", "reconciliation"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_moodle_on_postgresql_yields_the_same_delete_events(moodle_pg, store, scenario, path):
    moodle = moodle_pg
    now = FIXTURE_NOW
    initial(moodle, store, now)
    assert len(events(store)) == 136 + 250 + 736
    before = len(events(store))
    expected = SCENARIOS[scenario](moodle, store, now + 5)
    if path == "fast_path":
        for entity in ENTITIES:
            run_sync(entity, moodle, store, now=now + 10)
    else:
        mw.purge_log_and_history_deletes(moodle)
        for entity in ENTITIES:
            reconcile(entity, moodle, store, now=now + 10)
    check_payloads(check_new(store, before, expected))
    assert [reconcile(e, moodle, store, now=now + 20).events for e in ENTITIES] == [0, 0, 0]


def test_reconciliation_keeps_the_ids_of_states_written_before_they_were_kept(moodle, store):
    """States from before migration 004 carry no ids: the full pass stores them without an event, so a later
    delete found by reconciliation alone still names its user, course and method."""
    now = FIXTURE_NOW
    initial(moodle, store, now)
    store.execute("UPDATE moodle_sync_entity_state SET key_identity = NULL")
    store.commit()
    assert reconcile("enrolment", moodle, store, now=now + 5).events == 0
    assert store.query("SELECT COUNT(*) FROM moodle_sync_entity_state WHERE key_identity IS NULL "
                       "AND entity_type = 'enrolment'")[0][0] == 0
    store.commit()
    before = len(events(store))
    mw.unenrol_user(moodle, 253, now + 10)
    mw.purge_log_and_history_deletes(moodle)
    assert reconcile("enrolment", moodle, store, now=now + 15).deleted == 1
    p = new_events(store, before)[0]["payload"]
    assert (p["enrollment_id"], p["userid"], p["courseid"], p["enrol_method"]) == (253, 117, 7, "manual")


def test_ids_kept_as_json_objects_before_the_values_format_still_name_what_was_deleted(moodle, store):
    """States written before moodle_sync.outbox.payloads kept their ids as a JSON object; the sync now writes
    ``["<entity>.ids/<schema>", ...]``. Reconciliation alone (no log row to name the ids) reads both."""
    now = FIXTURE_NOW
    initial(moodle, store, now)
    kept = store.query("SELECT entity_type, entity_key, key_identity FROM moodle_sync_entity_state")
    assert kept and all(ids.startswith(f'["{entity}.ids/') for entity, _, ids in kept)
    store.executemany("UPDATE moodle_sync_entity_state SET key_identity = %s "
                      "WHERE entity_type = %s AND entity_key = %s",
                      [(json.dumps(payloads.as_dict(ids)), entity, key) for entity, key, ids in kept])
    store.commit()
    before = len(events(store))
    mw.unenrol_user(moodle, 222, now + 5)
    moodle_exec(moodle, ("DELETE FROM mdl_logstore_standard_log", None))
    assert reconcile("enrolment", moodle, store, now=now + 10).deleted == 1
    (deleted,) = new_events(store, before)
    assert (deleted["entity_key"], deleted["event_type"]) == ("222", "enrolment.deleted")
    p = deleted["payload"]
    assert (p["userid"], p["courseid"], p["enrol_method"], p["deleted"]) == (118, 6, "manual", True)
