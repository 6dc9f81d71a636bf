"""The grade as Moodle shows it (issue 11) and what each endpoint takes: on the Moodle 4.5 fixture (MariaDB) and on
a Moodle on PostgreSQL. Rows are written as Moodle's APIs write them (grade_update() pushes, grade_letters per
context, scales, marking workflow flags, advanced grading instances and fillings)."""

from __future__ import annotations

import collections
import json

import pytest

from support.helpers import FIXTURE_NOW, events, moodle_exec, reconcile, run_sync
from moodle_sync.delivery import profiles
from moodle_sync.delivery.webhook import WebhookSettings, deliver_due
from moodle_sync.outbox.crypto import cipher_from_connection

#: Letters of the fixture's 453 assignment grades with Moodle's default letters (no grade_letters rows)
DEFAULT_LETTER_COUNTS = {"A": 32, "A-": 20, "B+": 18, "B": 20, "B-": 21, "C+": 16, "C": 21, "C-": 16, "D+": 9,
                         "D": 26, "F": 254}
T = FIXTURE_NOW + 60  # when the scenario's writes happen
LATER = FIXTURE_NOW + 900


def latest(store) -> dict[str, dict]:
    """Each grade key's newest event."""
    out = {}
    for e in events(store, "grade"):
        out[e["entity_key"]] = e
    return out


def is_assign(p: dict) -> bool:
    return p["item_type"] == "mod" and p["item_module"] == "assign" and p["itemnumber"] == 0


@pytest.fixture(params=["mysql", "postgres"])
def any_moodle(request):
    """The fixture's Moodle on MariaDB, then on PostgreSQL."""
    return request.getfixturevalue("moodle" if request.param == "mysql" else "moodle_pg")


# --- the fixture as it is --------------------------------------------------------------------------------------

def test_fixture_grades_show_moodle_default_letters_and_their_assignment_details(moodle, store):
    run_sync("grade", moodle, store)
    grades = [e["payload"] for e in events(store, "grade")]
    assert len(grades) == 736
    assign = [p for p in grades if is_assign(p)]
    assert len(assign) == 453
    assert collections.Counter(p["grade"] for p in assign) == DEFAULT_LETTER_COUNTS
    by_id = {p["grade_id"]: p for p in grades}
    first = by_id[1]  # Amelia Smith, Essay 1, 95.76, graded by M. Jones at 1795744839
    assert first["grade"] == "A" and first["assignment_id"] == 23 and first["itemnumber"] == 0
    assert first["graded_at"] == "2026-11-27 02:00:39"  # Europe/London (GMT in November)
    assert (first["status"], first["workflow_state"], first["attempt_number"]) == ("graded", None, 1)
    assert (first["grader_userid"], first["grader_name"], first["grader_role"]) == (133, "Margaret Jones", "teacher")
    assert first["learning_outcomes"] == []
    assert by_id[6]["feedback"] == "Adjusted after appeal" and by_id[6]["graded_at"] == "2026-11-27 02:00:54"
    assert collections.Counter(p["grader_name"] for p in assign) == {
        "Admin User": 408, "Margaret Jones": 33, "Daniel Kim": 12}
    assert {p["grader_role"] for p in assign} == {"teacher"}
    # the scale item (Lab safety, site scale 1) shows its items' labels
    assert {p["grade"] for p in grades if p["itemid"] == 34} <= {
        "Mostly separate knowing", "Separate and connected", "Mostly connected knowing"}
    # not an assignment: no status or attempt; assignment_id in a namespace of its own
    total = next(p for p in grades if p["item_type"] == "course")
    assert total["status"] is None and total["attempt_number"] is None and total["learning_outcomes"] is None
    assert total["assignment_id"] == f"item-{total['itemid']}"
    # one CRM record per Moodle grade: the backend's key never names two grades
    keys = collections.Counter(f"{p['userid']}_{p['courseid']}_{p['assignment_id']}" for p in assign)
    assert len(keys) == 453 and max(keys.values()) == 1
    keys = collections.Counter(f"{p['userid']}_{p['courseid']}_{p['assignment_id']}" for p in grades)
    assert len(keys) == 736


def test_legacy_endpoint_takes_the_assignment_grades_and_records_the_others_skipped(moodle, store, receiver):
    run_sync("grade", moodle, store)
    settings = WebhookSettings(base_url=receiver.url, token="test-token-123", concurrency=8)
    result = deliver_due(store, settings, entity="grade", owner="test")
    assert (result.sent, result.skipped, result.attempted) == (453, 283, 453)
    assert receiver.state.requests == 453
    bodies = [json.loads(body) for _, body in receiver.state.raw]
    assert len(bodies) == 453
    data = [b["event_data"] for b in bodies]
    assert {b["event_type"] for b in bodies} == {"grade_updated"}
    keys = collections.Counter(f"{d['student_id']}_{d['course_id']}_{d['assignment_id']}" for d in data)
    assert len(keys) == 453 and max(keys.values()) == 1
    assert collections.Counter(d["grade"] for d in data) == DEFAULT_LETTER_COUNTS
    for d in data:
        assert d["grade"] == d["btec_grade"] and d["graded_at"] and d["status"] == "graded"
        assert d["student_name"] and d["user_fullname"] == d["student_name"] and d["course_name"]
        assert d["grader_name"] and d["grader_role"] == "teacher" and d["attempt_number"] == 1
        assert d["learning_outcomes"] == [] and d["grade_id"] and isinstance(d["assignment_id"], int)
    stored = events(store, "grade")
    skipped = [e for e in stored if e["status"] == "skipped"]
    assert len(skipped) == 283 and all(not is_assign(e["payload"]) for e in skipped)
    assert collections.Counter(e["payload"]["item_type"] for e in skipped) == {"course": 230, "category": 19,
                                                                              "manual": 34}
    assert all(e["last_error"].startswith("grade_items=assign: grade item") and e["attempts"] == 0
               and e["sent_at"] is None for e in skipped)
    assert "is not an assignment's grade" in skipped[0]["last_error"]
    attempts = store.query("SELECT COUNT(*) FROM moodle_sync_delivery_attempt")[0][0]
    store.commit()
    assert attempts == 453  # a skipped event has no attempt row: nothing was sent
    from moodle_sync.ops import health

    snap = health.snapshot(store)
    assert snap["entities"]["grade"]["skipped"] == 283 and snap["entities"]["grade"]["sent"] == 453


def test_grade_items_setting_and_skip_reason():
    conn = type("Conn", (), {"conn_id": "moodle_sync_webhook", "host": "crm.example", "port": None, "schema": "https",
                             "password": None, "extra_dejson": {"grade_items": "all"}})()
    assert WebhookSettings.from_connection(conn).grade_items == "all"
    conn.extra_dejson = {"grade_items": "totals"}
    with pytest.raises(Exception, match="grade_items"):
        WebhookSettings.from_connection(conn)
    total = {"item_type": "course", "item_module": None, "itemnumber": None, "itemid": 5}
    outcome = {"item_type": "mod", "item_module": "assign", "itemnumber": 1000, "itemid": 40}
    quiz = {"item_type": "mod", "item_module": "quiz", "itemnumber": 0, "itemid": 41}
    assign = {"item_type": "mod", "item_module": "assign", "itemnumber": 0, "itemid": 29}
    assert profiles.skip_reason("legacy", None, "grade.updated", assign) is None
    assert "not an assignment's grade" in profiles.skip_reason("legacy", None, "grade.updated", total)
    assert "itemnumber 1000" in profiles.skip_reason("legacy", None, "grade.deleted", outcome)
    assert profiles.skip_reason("legacy", "mod", "grade.updated", quiz) is None
    assert "not an activity's grade" in profiles.skip_reason("legacy", "mod", "grade.updated", total)
    assert profiles.skip_reason("legacy", "all", "grade.updated", total) is None
    assert profiles.skip_reason("standard", None, "grade.updated", total) is None  # standard keeps every grade
    assert profiles.skip_reason("legacy", None, "user.updated", {}) is None
    settings = WebhookSettings(base_url="http://x", grade_items="all")
    assert profiles.skip_reason(settings, None, "grade.updated", total) is None


# --- Moodle-written scenarios ------------------------------------------------------------------------------------

def write_scenario(moodle) -> None:
    """As Moodle writes them: custom letters (course 6, then the site), a Refer/Pass/Merit/Distinction scale and an
    assignment graded on it (with a marking guide), marking workflow on Essay 1 with a rubric, a reopened attempt,
    an internal verifier, HTML feedback, a deleted grade, the site's timezone changed."""
    cm_module = moodle.query("SELECT id FROM mdl_modules WHERE name = 'assign'")[0][0]
    moodle.commit()
    moodle_exec(
        moodle,
        # letters: course 6 (context 254) its own, the site (system context 1) for the other courses
        *[("INSERT INTO mdl_grade_letters (id, contextid, lowerboundary, letter) VALUES (%s, %s, %s, %s)", row)
          for row in [(9001, 254, 80.0, "High"), (9002, 254, 50.0, "Mid"), (9003, 254, 0.0, "Low"),
                      (9011, 1, 50.0, "S-Pass"), (9012, 1, 0.0, "S-Fail")]],
        # a Refer/Pass/Merit/Distinction scale and an assignment graded on it (assign.grade = -scaleid)
        ("INSERT INTO mdl_scale (id, courseid, userid, name, scale, description, descriptionformat, timemodified) "
         "VALUES (9001, 6, 2, 'BTEC', 'Refer, Pass,Merit ,Distinction', '', 1, %s)", (T,)),
        ("INSERT INTO mdl_assign (id, course, name, intro, grade, markingworkflow, timemodified) "
         "VALUES (9001, 6, 'Unit 1 assignment', '', -9001, 0, %s)", (T,)),
        ("INSERT INTO mdl_course_modules (id, course, module, instance, section, added) VALUES (9001, 6, %s, 9001, 0, %s)",
         (cm_module, T)),
        ("INSERT INTO mdl_context (id, contextlevel, instanceid, path, depth) VALUES (9001, 70, 9001, '/1/253/254/9001', 4)",
         None),
        ("INSERT INTO mdl_grade_items (id, courseid, itemname, itemtype, itemmodule, iteminstance, itemnumber, gradetype, "
         "grademin, grademax, scaleid, timecreated, timemodified) "
         "VALUES (9001, 6, 'Unit 1 assignment', 'mod', 'assign', 9001, 0, 2, 1, 4, 9001, %s, %s)", (T, T)),
        # an internal verifier in course 6: Daniel Kim (134)
        ("INSERT INTO mdl_role (id, name, shortname, description, sortorder, archetype) "
         "VALUES (9001, 'Internal verifier', 'internalverifier', '', 9001, '')", None),
        ("INSERT INTO mdl_role_assignments (id, roleid, contextid, userid, timemodified, modifierid, itemid, sortorder) "
         "VALUES (9001, 9001, 254, 134, %s, 2, 0, 0)", (T,)),
    )
    grades = [  # (gg id, user, finalgrade, assign_grades id, attempt): Merit, 2.5 rounds up to Merit, Distinction
        (9001, 103, 3.0, 9001, 0), (9002, 104, 2.5, 9002, 0), (9003, 105, 4.0, 9004, 1)]
    for gg, user, value, ag, attempt in grades:
        moodle_exec(
            moodle,
            ("INSERT INTO mdl_assign_grades (id, assignment, userid, timecreated, timemodified, grader, grade, attemptnumber) "
             "VALUES (%s, 9001, %s, %s, %s, 134, %s, %s)", (ag, user, T, T, value, attempt)),
            ("INSERT INTO mdl_grade_grades (id, itemid, userid, rawgrade, rawgrademax, rawgrademin, rawscaleid, usermodified, "
             "finalgrade, timemodified, aggregationstatus) "
             "VALUES (%s, 9001, %s, %s, 4, 1, 9001, 134, %s, %s, 'unknown')", (gg, user, value, value, T)),
        )
    moodle_exec(
        moodle,
        # user 105's first attempt (graded Pass, then reopened and graded again)
        ("INSERT INTO mdl_assign_grades (id, assignment, userid, timecreated, timemodified, grader, grade, attemptnumber) "
         "VALUES (9003, 9001, 105, %s, %s, 134, 2.0, 0)", (T, T)),
        # marking workflow on Essay 1 (assign 23): 104 released, 105 in marking (its gradebook grade stays, as
        # it was pushed before the workflow), 103 has no flags row (notmarked)
        ("UPDATE mdl_assign SET markingworkflow = 1 WHERE id = 23", None),
        ("INSERT INTO mdl_assign_user_flags (id, userid, assignment, locked, mailed, extensionduedate, workflowstate) "
         "VALUES (9001, 104, 23, 0, 0, 0, 'released')", None),
        ("INSERT INTO mdl_assign_user_flags (id, userid, assignment, locked, mailed, extensionduedate, workflowstate) "
         "VALUES (9002, 105, 23, 0, 0, 0, 'inmarking')", None),
        # HTML feedback (FORMAT_HTML) on user 103's Essay 1 grade
        ("UPDATE mdl_grade_grades SET feedback = %s, feedbackformat = 1 WHERE id = 1",
         ("<p>Good <strong>analysis</strong> &amp; structure.</p><p>See&nbsp;the rubric.</p>",)),
        # a rubric on Essay 1 (module context 291): user 104's grade (assign_grades 2) graded with it
        ("INSERT INTO mdl_grading_areas (id, contextid, component, areaname, activemethod) "
         "VALUES (9001, 291, 'mod_assign', 'submissions', 'rubric')", None),
        ("INSERT INTO mdl_grading_definitions (id, areaid, method, name, status, timecreated, usercreated, timemodified, "
         "usermodified) VALUES (9001, 9001, 'rubric', 'Essay rubric', 20, %s, 2, %s, 2)", (T, T)),
        *[("INSERT INTO mdl_gradingform_rubric_criteria (id, definitionid, sortorder, description, descriptionformat) "
           "VALUES (%s, 9001, %s, %s, 0)", row) for row in [(9001, 1, "Analysis"), (9002, 2, "Presentation")]],
        *[("INSERT INTO mdl_gradingform_rubric_levels (id, criterionid, score, definition, definitionformat) "
           "VALUES (%s, %s, %s, %s, 0)", row)
          for row in [(9001, 9001, 0, "Weak"), (9002, 9001, 5, "Strong"), (9003, 9002, 3, "Clear")]],
        # the active instance, and an archived one of an earlier grading (status 3: not read)
        ("INSERT INTO mdl_grading_instances (id, definitionid, raterid, itemid, rawgrade, status, timemodified) "
         "VALUES (9001, 9001, 133, 2, 8, 1, %s)", (T,)),
        ("INSERT INTO mdl_grading_instances (id, definitionid, raterid, itemid, rawgrade, status, timemodified) "
         "VALUES (9002, 9001, 133, 2, 0, 3, %s)", (T - 30,)),
        *[("INSERT INTO mdl_gradingform_rubric_fillings (id, instanceid, criterionid, levelid, remark, remarkformat) "
           "VALUES (%s, %s, %s, %s, %s, 0)", row)
          for row in [(9001, 9001, 9001, 9002, "Deep reading"), (9002, 9001, 9002, 9003, None),
                      (9003, 9002, 9001, 9001, "old")]],
        # a marking guide on the BTEC assignment: user 103's grade (assign_grades 9001)
        ("INSERT INTO mdl_grading_areas (id, contextid, component, areaname, activemethod) "
         "VALUES (9002, 9001, 'mod_assign', 'submissions', 'guide')", None),
        ("INSERT INTO mdl_grading_definitions (id, areaid, method, name, status, timecreated, usercreated, timemodified, "
         "usermodified) VALUES (9002, 9002, 'guide', 'Unit 1 guide', 20, %s, 2, %s, 2)", (T, T)),
        *[("INSERT INTO mdl_gradingform_guide_criteria (id, definitionid, sortorder, shortname, description, "
           "descriptionformat, maxscore) VALUES (%s, 9002, %s, %s, %s, 1, 10)", row)
          for row in [(9011, 1, "P1", "<p>Explain cell structure</p>"), (9012, 2, "M1", "Compare organelles")]],
        ("INSERT INTO mdl_grading_instances (id, definitionid, raterid, itemid, rawgrade, status, timemodified) "
         "VALUES (9011, 9002, 134, 9001, 12, 1, %s)", (T,)),
        *[("INSERT INTO mdl_gradingform_guide_fillings (id, instanceid, criterionid, remark, remarkformat, score) "
           "VALUES (%s, 9011, %s, %s, 1, %s)", row)
          for row in [(9011, 9011, "<p>Clear</p>", 8), (9012, 9012, "Partly", 4)]],
        # a grade deleted (user 103's Lab report 1, grade 2 of item 30) as unenrolment does: gone from the gradebook
        ("DELETE FROM mdl_grade_grades WHERE userid = 103 AND itemid = 30", None),
        # the site's default timezone changed
        ("UPDATE mdl_config SET value = 'America/New_York' WHERE name = 'timezone'", None),
    )


def test_moodle_written_scenario_shows_letters_scales_workflow_attempts_grader_feedback_outcomes(any_moodle, store):
    moodle = any_moodle
    run_sync("grade", moodle, store)
    write_scenario(moodle)
    result = reconcile("grade", moodle, store, now=LATER)
    assert result.deleted == 1
    by_key = latest(store)
    p = {k: e["payload"] for k, e in by_key.items()}
    # letters: course 6 its own (course context first), the others the site's (system context), no defaults left
    assert p["103:29"]["grade"] == "High"  # 95.76 in course 6
    course6 = [v for v in p.values() if v["courseid"] == 6 and v["gradetype"] == 1 and v["grade_value"] is not None]
    assert course6 and {v["grade"] for v in course6} <= {"High", "Mid", "Low"}
    others = [v for v in p.values() if v["courseid"] != 6 and v["gradetype"] == 1 and v["grade_value"] is not None]
    assert others and {v["grade"] for v in others} <= {"S-Pass", "S-Fail"}
    # the scale's labels (trimmed items), PHP's rounding of 2.5 upwards
    assert [p[f"{u}:9001"]["grade"] for u in (103, 104, 105)] == ["Merit", "Merit", "Distinction"]
    assert [p[f"{u}:9001"]["assignment_id"] for u in (103, 104, 105)] == [9001] * 3
    # attempts: the latest attempt's number + 1
    assert [p[f"{u}:9001"]["attempt_number"] for u in (103, 104, 105)] == [1, 1, 2]
    # the grader, an internal verifier in course 6
    assert (p["103:9001"]["grader_name"], p["103:9001"]["grader_role"]) == ("Daniel Kim", "iv")
    # marking workflow (assign::get_grading_status): flags, notmarked without one; status = workflow state
    assert (p["104:29"]["status"], p["104:29"]["workflow_state"]) == ("released", "released")
    assert (p["105:29"]["status"], p["105:29"]["workflow_state"]) == ("inmarking", "inmarking")
    assert (p["103:29"]["status"], p["103:29"]["workflow_state"]) == ("notmarked", "notmarked")
    assert (p["103:9001"]["status"], p["103:9001"]["workflow_state"]) == ("graded", None)
    # feedback as plain text (content_to_text of FORMAT_HTML)
    assert p["103:29"]["feedback"] == "Good ANALYSIS & structure.\n\nSee the rubric."
    # rubric: the active instance only, criteria in sortorder, code C<sortorder>
    assert p["104:29"]["learning_outcomes"] == [
        {"code": "C1", "description": "Analysis", "score": 5, "feedback": "Deep reading"},
        {"code": "C2", "description": "Presentation", "score": 3, "feedback": ""}]
    assert p["103:29"]["learning_outcomes"] == []
    # marking guide: code = the criterion's short name
    assert p["103:9001"]["learning_outcomes"] == [
        {"code": "P1", "description": "Explain cell structure", "score": 8, "feedback": "Clear"},
        {"code": "M1", "description": "Compare organelles", "score": 4, "feedback": "Partly"}]
    # graded_at in the site's (new) timezone: 1795744839 is 21:00:39 the day before in New York
    assert p["104:29"]["graded_at"] == "2026-11-26 21:00:54"
    assert p["105:9001"]["graded_at"] == "2026-11-26 22:01:00"  # T = FIXTURE_NOW + 60

    # the legacy body of the delete: names kept, grade cleared, status deleted, deletion time as timestamp
    deleted = by_key["103:30"]
    assert deleted["event_type"] == "grade.deleted"
    cipher = cipher_from_connection()
    body = json.loads(profiles.legacy(deleted["event_id"], deleted["event_type"],
                                      cipher.open(deleted["stored_payload"], deleted["event_id"]), now=LATER + 5))
    d = body["event_data"]
    assert body["event_type"] == "grade_updated" and d["deleted"] is True
    assert (d["student_id"], d["course_id"], d["assignment_id"]) == (103, 6, 24)
    assert d["student_name"] == d["user_fullname"] == "Amelia Smith"
    assert d["course_name"] == "Biology 101: Cells and Organisms" and d["assignment_name"] == "Lab report 1"
    assert d["grade"] is None and d["status"] == "deleted" and body["timestamp"] == LATER


def test_a_deleted_course_names_come_from_the_last_event(moodle, store):
    run_sync("grade", moodle, store)
    moodle_exec(moodle, ("DELETE FROM mdl_grade_grades WHERE userid = 103 AND itemid = 30", None),
                ("UPDATE mdl_course SET fullname = 'x', shortname = 'y' WHERE id = 6", None),
                ("DELETE FROM mdl_course WHERE id = 6", None))
    reconcile("grade", moodle, store, now=LATER)
    deleted = latest(store)["103:30"]
    assert deleted["event_type"] == "grade.deleted"
    assert deleted["payload"]["course_name"] == "Biology 101: Cells and Organisms"
    assert deleted["payload"]["user_fullname"] == "Amelia Smith"


# --- the rules, row by row ---------------------------------------------------------------------------------------

def _grade(context=None, **over):
    import pandas as pd

    from moodle_sync.entities import grades as grade_entity
    from unit.test_transform import grade_row

    row = grade_row(itemnumber=0, assign_id=3, markingworkflow=0, assign_grade_id=11, assign_grade=50.0,
                    attemptnumber=0, course_context_path="/1/3/20", grader_userid=2, grader_firstname="Ada",
                    grader_lastname="King", grader_role_rank=None)
    row.update(over)
    return grade_entity.transform(pd.DataFrame([row], dtype=object), 0, context).iloc[0]


@pytest.mark.parametrize("value, letter", [
    (92.995, "A-"), (93.0, "A"), (89.996, "B+"), (60.0, "D"), (59.99999, "F"), (0.0, "F"), (None, None)])
def test_letters_use_php_floats_never_the_rounded_percentage(value, letter):
    assert _grade(finalgrade=value)["grade_display"] == letter


def test_letters_resolve_course_then_parents_then_defaults_and_standardise_over_the_item_range():
    letters = {20: [(50.0, "Course pass"), (0.0, "Course fail")], 1: [(50.0, "Site pass"), (0.0, "Site fail")],
               3: [(90.0, "Cat top"), (0.0, "Cat rest")]}
    assert _grade({"letters": letters}, finalgrade=70.0)["grade_display"] == "Course pass"
    assert _grade({"letters": letters}, finalgrade=70.0, course_context_path="/1/3/21")["grade_display"] == "Cat rest"
    assert _grade({"letters": {1: letters[1]}}, finalgrade=20.0, course_context_path="/1/3/21")["grade_display"] == \
        "Site fail"
    # 15 of 0..20 is 75 %: C (73..77) with the defaults; max == min gives the top (A)
    assert _grade(finalgrade=15.0, item_grademax=20.0)["grade_display"] == "C"
    assert _grade(finalgrade=5.0, item_grademin=5.0, item_grademax=5.0)["grade_display"] == "A"


@pytest.mark.parametrize("value, label", [(1.0, "Refer"), (1.49, "Refer"), (1.5, "Pass"), (2.5, "Merit"),
                                          (4.0, "Distinction"), (9.0, "Distinction"), (None, None)])
def test_scale_label_rounds_half_up_and_clamps(value, label):
    ctx = {"scales": {9: ["Refer", "Pass", "Merit", "Distinction"]}}
    assert _grade(ctx, finalgrade=value, gradetype=2, scaleid=9, item_grademin=1.0, item_grademax=4.0)["grade_display"] == label


def test_status_attempt_grader_and_date():
    from moodle_sync.entities.grades import site_timezone

    g = _grade({"timezone": site_timezone("Australia/Sydney")}, timemodified=1795744839, attemptnumber=2,
               grader_role_rank=3)
    assert (g["status"], g["workflow_state"], g["attempt_number"]) == ("graded", None, 3)
    assert (g["grader_name"], g["grader_role"], g["graded_at"]) == ("Ada King", "iv", "2026-11-27 13:00:39")
    assert _grade(assign_grade=-1.0)["status"] == "notgraded"  # ASSIGN_GRADE_NOT_SET
    assert _grade(markingworkflow=1, workflowstate=None)["status"] == "notmarked"
    assert _grade(markingworkflow=1, workflowstate="readyforreview")["workflow_state"] == "readyforreview"
    assert _grade(grader_role_rank=None)["grader_role"] == "other"  # no role at the course context
    other = _grade(item_type="manual", item_module=None, iteminstance=None, assign_id=None)
    assert other["status"] is None and other["attempt_number"] is None and other["assignment_id"] == "item-7"
    assert _grade(itemnumber=1000, assign_id=None)["assignment_id"] == "item-7"  # an assignment's outcome item
    assert site_timezone("99").key == "UTC"


@pytest.mark.parametrize("text, fmt, plain", [
    ("Plain <b>kept</b>", 2, "Plain <b>kept</b>"),
    ("<p>One</p><p>Two<br>three &amp; four</p>", 1, "One\n\nTwo\nthree & four"),
    ("Moodle <em>format</em>", 0, "Moodle _format_"),
    ("**Well** done", 4, "WELL done"),
    ("  ", 1, None),
])
def test_feedback_as_plain_text(text, fmt, plain):
    assert _grade(feedback=text, feedbackformat=fmt)["feedback"] == plain
