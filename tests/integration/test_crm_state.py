"""What the CRM ends up holding: the fixture's grades synced and delivered through the legacy profile to a receiver
that behaves like the real backend (its 10-second key memory, its field mapping, its CRM records per
``{student_id}_{course_id}_{assignment_id}``), then changes inside 10 s, a delete and a retry."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo


from support.helpers import FIXTURE_NOW, events, moodle_exec, run_sync
from support.moodle_writes import history_row

#: Moodle's default letters (lib/gradelib.php grade_get_letters(null)): the fixture defines no letters of its own
DEFAULT_LETTERS = [(93, "A"), (90, "A-"), (87, "B+"), (83, "B"), (80, "B-"), (77, "C+"), (73, "C"), (70, "C-"),
                   (67, "D+"), (60, "D"), (0, "F")]


def _settings(receiver):
    from moodle_sync.delivery.webhook import WebhookSettings

    return WebhookSettings(base_url=receiver.url, token="test-token-123", concurrency=8)


def _deliver(store, receiver):
    from moodle_sync.delivery.webhook import deliver_due

    return deliver_due(store, _settings(receiver), entity="grade", owner="test")


def _expected_assignment_grades(moodle) -> dict[str, dict]:
    """Straight from Moodle's tables: every graded assignment grade, with the letter Moodle shows (default letters
    over the item's range) and the date graded in the site's timezone."""
    tz = zoneinfo.ZoneInfo(moodle.query("SELECT value FROM mdl_config WHERE name = 'timezone'")[0][0])
    rows = moodle.query(
        "SELECT gg.userid, gi.courseid, gi.iteminstance, gg.finalgrade, gi.grademin, gi.grademax, gg.timemodified, "
        "u.firstname, u.lastname, c.fullname FROM mdl_grade_grades gg "
        "JOIN mdl_grade_items gi ON gi.id = gg.itemid JOIN mdl_user u ON u.id = gg.userid "
        "JOIN mdl_course c ON c.id = gi.courseid "
        "WHERE gi.itemtype = 'mod' AND gi.itemmodule = 'assign' AND gi.itemnumber = 0 "
        "AND (gg.finalgrade IS NOT NULL OR gg.feedback IS NOT NULL)")
    moodle.commit()
    out = {}
    for userid, courseid, instance, final, lo, hi, modified, first, last, course in rows:
        letter = "N/A"
        if final is not None:
            pct = 100.0 if hi == lo else min(100.0, max(0.0, (float(final) - float(lo)) / (float(hi) - float(lo)) * 100))
            letter = next(name for bound, name in DEFAULT_LETTERS if pct >= bound)
        out[f"{userid}_{courseid}_{instance}"] = {
            "Grade": letter, "Student_Name": f"{first} {last}", "Class_Name": course,
            "Attempt_Date": dt.datetime.fromtimestamp(modified, tz).strftime("%Y-%m-%d %H:%M:%S")}
    return out


def test_the_crm_holds_one_record_per_assignment_grade_with_its_letter_date_and_names(moodle, store, receiver):
    run_sync("grade", moodle, store)
    result = _deliver(store, receiver)
    expected = _expected_assignment_grades(moodle)
    records = receiver.state.crm_records()
    assert len(expected) == 453 and set(records) == set(expected)  # one record per grade, none shared
    for key, want in expected.items():
        got = records[key]
        assert {f: got[f] for f in want} == want, key
        assert got["Grade_Status"] == "graded" and got["Attempt_Number"] == 1
    assert not receiver.state.bodies(action="deduplicated")  # nothing answered deduplicated and dropped
    statuses = {e["status"] for e in events(store, "grade")}
    assert statuses == {"sent", "skipped"} and result.sent == 453


def test_changes_inside_10_seconds_a_delete_and_a_retry_leave_the_crm_right(moodle, store, receiver):
    run_sync("grade", moodle, store)
    _deliver(store, receiver)
    instance, course = moodle.query("SELECT iteminstance, courseid FROM mdl_grade_items WHERE id = 29 "
                                    "AND itemtype = 'mod' AND itemmodule = 'assign'")[0]  # BIO101's essay
    moodle.commit()
    key, deleted_key = f"104_{course}_{instance}", f"106_{course}_{instance}"
    assert receiver.state.crm_record(key) is not None and receiver.state.crm_record(deleted_key) is not None

    receiver.state.forget_grade_keys()  # the initial delivery is long past (as the next scheduled run finds it)
    # two changes of one grade, each synced and delivered at once: the second is inside the backend's 10 s
    t = FIXTURE_NOW + 60
    for value, at in ((41.0, t), (95.0, t + 1)):
        moodle_exec(moodle, ("UPDATE mdl_grade_grades SET rawgrade = %s, finalgrade = %s, timemodified = %s "
                             "WHERE userid = 104 AND itemid = 29", (value, value, at)),
                    history_row(104, 29, 2, at, "mod/assign"))
        run_sync("grade", moodle, store, now=at + 5)
        _deliver(store, receiver)
    assert receiver.state.bodies(action="deduplicated"), "the second change did reach the backend inside 10 s"
    assert receiver.state.crm_record(key)["Grade"] == "F"  # 41 %: the first change; the second not applied yet
    newest = [e for e in events(store, "grade") if e["entity_key"] == "104:29"][-1]
    assert newest["status"] == "pending"  # deduplicated is no success: due again after the window

    # a grade deleted in Moodle (history action 3, the row gone); the backend fails it once (the CRM is down)
    moodle_exec(moodle, history_row(106, 29, 3, t + 2, "mod/assign"),
                ("DELETE FROM mdl_grade_grades WHERE userid = 106 AND itemid = 29", None))
    assert run_sync("grade", moodle, store, now=t + 7).deleted == 1
    names = {f: receiver.state.crm_record(deleted_key)[f] for f in ("Student_Name", "Class_Name")}
    receiver.state.control(crm_fail_next=1, crm_fail_key=deleted_key)  # not 104's: both go in one batch
    time.sleep(12.5)  # the backend's window of the deduplicated change is over
    _deliver(store, receiver)
    assert receiver.state.crm_record(key)["Grade"] == "A"  # 95 %: the newest change, applied after the window
    failed = [e for e in events(store, "grade") if e["entity_key"] == "106:29"][-1]
    assert failed["status"] == "failed"  # the CRM failed it: retried after the window, not before

    from moodle_sync.outbox.db import utcnow

    time.sleep(12.5)  # the failed request started the backend's memory too: its window passes, then its backoff
    store.execute("UPDATE moodle_sync_event_log SET next_retry_at = %(t)s WHERE status = 'failed'",
                  {"t": store.ts(utcnow())})
    store.commit()
    _deliver(store, receiver)
    record = receiver.state.crm_record(deleted_key)
    assert {f: record[f] for f in names} == names and all(names.values())  # a delete never blanks the names
    assert record["Grade"] == "N/A" and record["Grade_Status"] == "deleted"
    assert {e["status"] for e in events(store, "grade")} <= {"sent", "skipped", "superseded"}
