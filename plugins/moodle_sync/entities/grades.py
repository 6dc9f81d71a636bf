"""Moodle grades (one per user and grade item) with Moodle's percentage: key ``userid:itemid``."""

from __future__ import annotations

from moodle_sync.entities.base import EntitySpec, KeySource, as_int, log_other

GRADETYPE_NONE, GRADETYPE_VALUE, GRADETYPE_SCALE, GRADETYPE_TEXT = 0, 1, 2, 3
TOTAL_ITEM_TYPES = ("course", "category")


def grade_percentage(df):
    """(percentage, range_min, range_max) as Moodle computes a grade's percentage.

    The range comes from the grade item, except for course and category totals, where Moodle uses the
    grade's own rawgrademin/rawgrademax. max == min gives the top of the range (100), the result is
    clamped to 0..100, and text or "none" items carry no number.
    """
    import numpy as np

    is_total = df["item_type"].isin(TOTAL_ITEM_TYPES)
    lo = df["rawgrademin"].where(is_total, df["item_grademin"])
    hi = df["rawgrademax"].where(is_total, df["item_grademax"])
    span = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (df["finalgrade"] - lo) / span * 100.0
    pct = pct.where(span != 0, 100.0).clip(0.0, 100.0).round(2)
    numeric = df["gradetype"].isin((GRADETYPE_VALUE, GRADETYPE_SCALE)) & df["finalgrade"].notna()
    return pct.where(numeric), lo, hi


def transform(df, now: int):
    import numpy as np

    from moodle_sync.entities import frame

    frame.numeric(df, ["rawgrade", "finalgrade", "rawgrademin", "rawgrademax", "item_grademin", "item_grademax"])
    frame.ints(df, ["userid", "itemid", "grade_id", "rawscaleid", "hidden", "locked", "overridden", "excluded",
                    "timecreated", "timemodified", "iteminstance", "gradetype", "scaleid", "courseid",
                    "user_exists", "item_exists"])
    frame.text(df, ["feedback", "item_type", "item_module", "item_name", "course_name", "course_shortname",
                    "user_username", "user_email", "user_firstname", "user_lastname"])
    for col in ("rawgrade", "finalgrade", "rawgrademin", "rawgrademax", "item_grademin", "item_grademax"):
        df[col] = df[col].round(5)
    pct, lo, hi = grade_percentage(df)
    df["percentage"] = pct
    df["grademin"] = lo
    df["grademax"] = hi
    is_scale = df["gradetype"] == GRADETYPE_SCALE
    df["scale_index"] = df["finalgrade"].round().where(is_scale & df["finalgrade"].notna()).astype("Int64")
    df["feedback"] = df["feedback"].map(lambda v: v if v else None)
    df["has_value"] = df["finalgrade"].notna() | df["feedback"].notna()
    df["item_name"] = df["item_name"].where(df["item_name"].notna(), df["item_type"].map(
        {"course": "Course total", "category": "Category total"}))
    # The backend refuses a grade without assignment_id; items with no activity (manual items, totals
    # without an instance) carry their grade item id there.
    df["assignment_id"] = df["iteminstance"].fillna(df["itemid"])
    df["user_fullname"] = (df["user_firstname"].fillna("") + " " + df["user_lastname"].fillna("")).str.strip()
    df["quarantine_reason"] = frame.reasons(df, [
        (df["user_exists"] != 1, "user missing"),
        (df["item_exists"] != 1, "grade item missing"),
        (df["courseid"].isna() | df["course_name"].isna(), "course missing"),
        (df["gradetype"].isna() | ~df["gradetype"].isin((0, 1, 2, 3)), "unknown grade type"),
        (df["grademax"].notna() & df["grademin"].notna() & (df["grademax"] < df["grademin"]),
         "grade range max below min"),
        (df["finalgrade"].notna() & ~np.isfinite(df["finalgrade"].astype(float)), "grade is not a number"),
    ])
    return df


def log_grade_deleted(row: dict):
    """A grade_deleted log row (also written where grade history is disabled)."""
    userid, itemid = as_int(row["relateduserid"]), as_int(log_other(row).get("itemid"))
    if not userid or not itemid:
        return None
    ids = {"grade_id": as_int(row["objectid"]), "userid": userid, "itemid": itemid,
           "courseid": as_int(row["courseid"])}
    return f"{userid}:{itemid}", ids, as_int(row["timecreated"])


def history_grade_deleted(row: dict):
    """A grade_grades_history row of action 3 (delete), joined to its grade item."""
    userid, itemid = as_int(row["userid"]), as_int(row["itemid"])
    if not userid or not itemid:
        return None
    iteminstance = as_int(row["iteminstance"])
    ids = {"grade_id": as_int(row["oldid"]), "userid": userid, "itemid": itemid, "iteminstance": iteminstance,
           "item_type": row["itemtype"], "item_module": row["itemmodule"], "courseid": as_int(row["courseid"]),
           "assignment_id": iteminstance if iteminstance is not None else (itemid if row["itemtype"] else None)}
    return f"{userid}:{itemid}", ids, as_int(row["timemodified"])


GRADES = EntitySpec(
    name="grade",
    dag_id="moodle_sync_grades",
    schedule="*/15 * * * *",
    description="Moodle grades (one per user and grade item) with Moodle's percentage to the CRM.",
    select_sql="grades",
    changed_sql="grades_changed",
    changed_sql_without_history="grades_changed_without_history",
    key_columns=("userid", "itemid"),
    source_id=("grade_id", "gg.id", "grade_grades"),
    transform=transform,
    payload_fields={
        "grade_id": "grade_id", "userid": "userid", "user_username": "user_username",
        "user_email": "user_email", "user_fullname": "user_fullname", "itemid": "itemid",
        "iteminstance": "iteminstance", "item_name": "item_name", "item_type": "item_type",
        "item_module": "item_module", "courseid": "courseid", "course_name": "course_name",
        "course_shortname": "course_shortname", "finalgrade_numeric": "percentage",
        "raw_grade": "rawgrade", "grade_value": "finalgrade",
        "grademax": "grademax", "grademin": "grademin", "gradetype": "gradetype", "scaleid": "scaleid",
        "scale_index": "scale_index", "feedback": "feedback", "hidden": "hidden", "locked": "locked",
        "overridden": "overridden", "excluded": "excluded", "timecreated": "timecreated",
        "timemodified": "timemodified", "assignment_id": "assignment_id",
    },
    change_fields=("userid", "itemid", "grade_value", "finalgrade_numeric", "raw_grade", "grademax", "grademin",
                   "gradetype", "scale_index", "feedback", "hidden", "locked", "overridden", "excluded"),
    modified_column="timemodified",
    event_types=("grade.created", "grade.updated"),
    has_value_column="has_value",
    keys_sql="grades_keys",
    candidates_sql="grades_candidates",
    identity_fields=("grade_id", "userid", "itemid", "iteminstance", "item_type", "item_module", "courseid",
                     "assignment_id"),
    # the legacy backend takes a deleted grade as grade_updated with the grade cleared and `deleted` set
    delete_values={"deleted": True},
    key_sources=(
        KeySource(name="grade_history", sql="grade_history_deletes", bounds_sql="grade_history_bounds",
                  reader=history_grade_deleted),
        # the log's grade_deleted also covers sites with $CFG->disablegradehistory
        KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader=log_grade_deleted,
                  eventnames=(r"\core\event\grade_deleted",), needs_log=True),
    ),
)
