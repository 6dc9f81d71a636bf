"""Transform rules as table tests: grade percentage, effective enrolment, role, quarantine reasons, windows."""

from __future__ import annotations


import pandas as pd
import pytest

from moodle_sync.outbox.sql import validate_prefix
from moodle_sync.config import ConfigError
from moodle_sync.entities import enrolments, grades as grade_entity, users
from moodle_sync.entities.enrolments import effective_enrolment_active
from moodle_sync.capture.window import resolve_window


def grade_row(**over):
    row = dict(userid=5, itemid=7, grade_id=1, rawgrade=None, finalgrade=50.0, rawgrademin=0.0, rawgrademax=100.0,
               rawscaleid=None, feedback=None, hidden=0, locked=0, overridden=0, excluded=0, timecreated=None,
               timemodified=100, item_type="mod", item_module="assign", iteminstance=3, item_name="Essay",
               gradetype=1, item_grademin=0.0, item_grademax=100.0, scaleid=None, courseid=2, course_name="C",
               course_shortname="c", user_username="u", user_email="u@example.com", user_firstname="Zoë",
               user_lastname="Ngũgĩ", user_exists=1, item_exists=1)
    row.update(over)
    return row


def grades(*rows):
    return grade_entity.transform(pd.DataFrame(list(rows)), now=0)


@pytest.mark.parametrize("case, row, percentage, lo, hi", [
    ("item range", dict(finalgrade=25, item_grademax=50), 50.0, 0, 50),
    ("item min above zero", dict(finalgrade=6, item_grademin=2, item_grademax=10), 50.0, 2, 10),
    ("course total uses the grade's raw range", dict(item_type="course", finalgrade=163.76, rawgrademax=203,
                                                      item_grademax=263), 80.67, 0, 203),
    ("category total uses the grade's raw range", dict(item_type="category", finalgrade=41, rawgrademax=53,
                                                        item_grademax=103), 77.36, 0, 53),
    ("max == min gives the top of the range", dict(finalgrade=5, item_grademin=5, item_grademax=5), 100.0, 5, 5),
    ("over the max is clamped to 100", dict(finalgrade=120), 100.0, 0, 100),
    ("under the min is clamped to 0", dict(finalgrade=-3), 0.0, 0, 100),
    ("scale: index 2 of 1..3", dict(gradetype=2, scaleid=1, finalgrade=2, item_grademin=1, item_grademax=3), 50.0, 1, 3),
    ("text item carries no number", dict(gradetype=3, finalgrade=None, feedback="Well done"), None, 0, 100),
    ("'none' item carries no number", dict(gradetype=0, finalgrade=7), None, 0, 100),
    ("no grade yet", dict(finalgrade=None), None, 0, 100),
])
def test_grade_percentage_follows_moodle(case, row, percentage, lo, hi):
    out = grades(grade_row(**row)).iloc[0]
    if percentage is None:
        assert pd.isna(out["percentage"]), case
    else:
        assert out["percentage"] == pytest.approx(percentage), case
    assert (out["grademin"], out["grademax"]) == (lo, hi), case


def test_scale_grade_carries_its_index_and_value_grade_does_not():
    out = grades(grade_row(gradetype=2, finalgrade=3, item_grademin=1, item_grademax=3), grade_row())
    assert out["scale_index"].tolist()[0] == 3 and pd.isna(out["scale_index"].tolist()[1])


def test_grade_has_value_with_a_grade_or_feedback_only():
    out = grades(grade_row(), grade_row(finalgrade=None, feedback="See me"), grade_row(finalgrade=None, feedback=""),
                 grade_row(finalgrade=None))
    assert out["has_value"].tolist() == [True, True, False, False]


@pytest.mark.parametrize("row, reason", [
    (dict(user_exists=0), "user missing"),
    (dict(item_exists=0, item_type=None, gradetype=None), "grade item missing"),
    (dict(course_name=None), "course missing"),
    (dict(gradetype=9), "unknown grade type"),
    (dict(item_grademin=10, item_grademax=5), "grade range max below min"),
    (dict(), None),
])
def test_grade_quarantine_reasons(row, reason):
    assert grades(grade_row(**row)).iloc[0]["quarantine_reason"] == reason


def enrol_row(**over):
    row = dict(enrollment_id=1, userid=3, enrolid=4, courseid=2, course_name="C", course_shortname="c", status=0,
               enrol_method="manual", instance_status=0, timestart=0, timeend=0, timecreated=1, timemodified=1,
               user_exists=1)
    row.update(over)
    return row


NOW = 1_000_000


@pytest.mark.parametrize("case, row, active", [
    ("plain active", dict(), True),
    ("row suspended", dict(status=1), False),
    ("method disabled", dict(instance_status=1), False),
    ("starts in the future", dict(timestart=NOW + 500), False),
    ("started", dict(timestart=NOW - 500), True),
    ("ended", dict(timeend=NOW - 500), False),
    ("ends later", dict(timeend=NOW + 500), True),
    ("now is rounded down to 100 s like Moodle", dict(timestart=NOW + 50), False),
    ("start within the rounding is not yet started", dict(timestart=NOW - 0), False),
])
def test_effective_enrolment_is_computed_as_moodle_does(case, row, active):
    df = pd.DataFrame([enrol_row(**row)])
    assert bool(effective_enrolment_active(df, NOW + 50).iloc[0]) is active, case


@pytest.mark.parametrize("row, reason", [
    (dict(enrolid=None, enrol_method=None, instance_status=None, courseid=None, course_name=None),
     "enrolment method instance missing"),
    (dict(course_name=None), "course missing"),
    (dict(user_exists=0), "user missing"),
    (dict(timeend=-5), "invalid timeend"),
    (dict(), None),
])
def test_enrolment_quarantine_reasons(row, reason):
    assert enrolments.transform(pd.DataFrame([enrol_row(**row)]), NOW).iloc[0]["quarantine_reason"] == reason


def user_row(**over):
    row = dict(userid=10, username="a.b", email="ünïcode+tag@exämple.org", firstname="José", lastname="O'Brien",
               phone1="", phone2="", city="", country="", auth="manual", confirmed=1, deleted=0, suspended=0,
               timecreated=0, timemodified=0, role_rank=0)
    row.update(over)
    return row


@pytest.mark.parametrize("row, reason", [
    (dict(), None),
    (dict(email="not-an-email"), None),  # Moodle accepted it: it passes
    (dict(username=""), "empty username"),
    (dict(timemodified=-1), "invalid timemodified"),
])
def test_user_validation_lets_what_moodle_accepted_pass(row, reason):
    assert users.transform(pd.DataFrame([user_row(**row)]), NOW).iloc[0]["quarantine_reason"] == reason


@pytest.mark.parametrize("rank, role", [(2, "teacher"), (1, "student"), (0, "other")])
def test_user_role_from_role_rank(rank, role):
    assert users.transform(pd.DataFrame([user_row(role_rank=rank)]), NOW).iloc[0]["role"] == role


@pytest.mark.parametrize("kwargs, expected", [
    (dict(run_type="manual", interval_start=None, interval_end=None, watermark=None), ("initial", None, 5000)),
    (dict(run_type="scheduled", interval_start=3000, interval_end=4000, watermark=None), ("initial", None, 5000)),
    (dict(run_type="manual", interval_start=3000, interval_end=4000, watermark=4500), ("incremental", 4200, 5000)),
    (dict(run_type="scheduled", interval_start=3000, interval_end=4000, watermark=4100), ("interval", 2700, 4000)),
    (dict(run_type="scheduled", interval_start=3000, interval_end=4000, watermark=1000), ("interval", 700, 4000)),
    (dict(run_type="backfill", interval_start=3000, interval_end=4000, watermark=1000), ("backfill", 2700, 4000)),
    (dict(run_type="scheduled", interval_start=4000, interval_end=4000, watermark=4500), ("incremental", 4200, 5000)),
    (dict(run_type="manual", interval_start=None, interval_end=None, watermark=4500, since="1970-01-01T00:33:20Z"),
     ("resync", 2000, 5000)),
    (dict(run_type="manual", interval_start=None, interval_end=None, watermark=4500, since=100, until="200"),
     ("resync", 100, 200)),
])
def test_window_resolution(kwargs, expected):
    w = resolve_window(now=5000, overlap=300, **kwargs)
    assert (w.mode, w.since, w.until) == expected


def test_window_rejects_bad_params_with_a_clear_message():
    with pytest.raises(ConfigError, match="ISO 8601"):
        resolve_window(run_type="manual", interval_start=None, interval_end=None, watermark=1, now=5, since="yesterday")
    with pytest.raises(ConfigError, match="after 'since'"):
        resolve_window(run_type="manual", interval_start=None, interval_end=None, watermark=1, now=5, since=9, until=3)


@pytest.mark.parametrize("prefix, ok", [("mdl_", True), ("", True), ("m2_", True), ("mdl_; DROP TABLE x", False),
                                        ("1mdl", False), ("mdl-", False), ("a" * 31, False)])
def test_table_prefix_is_validated_as_an_identifier(prefix, ok):
    if ok:
        assert validate_prefix(prefix) == prefix
    else:
        with pytest.raises(ConfigError, match="table_prefix"):
            validate_prefix(prefix)


@pytest.mark.parametrize("row", [
    dict(), dict(timestart=NOW + 500), dict(timestart=NOW - 500, timeend=NOW + 333), dict(timeend=NOW + 20),
    dict(timestart=NOW + 99, timeend=NOW + 250), dict(timestart=NOW + 5000, timeend=NOW + 150),
    dict(timeend=NOW - 500), dict(status=1, timestart=NOW + 500), dict(instance_status=1, timeend=NOW + 500),
])
def test_an_enrolments_next_flip_comes_no_later_than_its_active_flag_changes(row):
    """next_flip is the first "now" (Moodle's, rounded to 100 s) at which `active` can differ: never later than
    the change (a start or an end passing); none when time alone never changes it (a status change is logged
    and re-reads the row). An early flip only re-reads the row once more."""
    df = enrolments.transform(pd.DataFrame([enrol_row(**row)]), NOW)
    flip = df["next_flip"].iloc[0]
    at = [t for t in range(NOW, NOW + 6000, 100) if effective_enrolment_active(df, t).iloc[0] !=
          effective_enrolment_active(df, NOW).iloc[0]]
    if at:
        assert not pd.isna(flip) and NOW < int(flip) <= at[0]
        assert int(flip) == at[0] or row == dict(timestart=NOW + 5000, timeend=NOW + 150)  # ends before it starts
    else:
        assert pd.isna(flip) or row == dict(timestart=NOW + 5000, timeend=NOW + 150)


def test_id_ranges_round_trip():
    from moodle_sync.outbox.entity_store import id_ranges, id_set

    ids = {3, 4, 5, 7, 10, 11}
    assert id_ranges(ids) == "3-5,7,10-11" and id_set(id_ranges(ids)) == ids
    assert id_ranges([]) == "" and id_set(None) == set()
