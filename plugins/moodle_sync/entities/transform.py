"""pandas transforms: derive what Moodle computes (effective enrolment, grade percentage, role) and
validate each chunk. A row that fails validation gets a ``quarantine_reason``; nothing is dropped.

Every function takes the raw chunk as read by the entity's SQL (object columns: the driver's values; each function
types every column it reads) and returns it with derived columns
plus ``quarantine_reason`` (None for a good row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

ROLE_NAMES = {2: "teacher", 1: "student", 0: "other"}

GRADETYPE_NONE, GRADETYPE_VALUE, GRADETYPE_SCALE, GRADETYPE_TEXT = 0, 1, 2, 3
TOTAL_ITEM_TYPES = ("course", "category")


def _numeric(df: pd.DataFrame, columns) -> None:
    for col in columns:
        df[col] = pd.to_numeric(df[col], errors="coerce")


def _ints(df: pd.DataFrame, columns) -> None:
    """Nullable integers. A column of Python ints and NULLs (what the drivers give for integer columns) is
    taken as it is (in half the time of parsing it); anything else is parsed, a value that is no number
    becoming NULL."""
    for col in columns:
        values = df[col].to_numpy()
        if values.dtype == object and infer_dtype(values, skipna=True) == "integer":
            missing = pd.isna(values)
            numbers = np.where(missing, 0, values) if missing.any() else values
            df[col] = pd.arrays.IntegerArray(numbers.astype(np.int64), missing)
        else:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")


def _text(df: pd.DataFrame, columns) -> None:
    """Text as Python objects. Object columns (the drivers' str or None) are left as they are: converting them
    again took a third of the grade transform; other columns become objects with None for NULL."""
    for col in columns:
        if df[col].dtype != object:
            df[col] = df[col].astype(object).where(df[col].notna(), None)


def _reasons(df: pd.DataFrame, checks: list[tuple[pd.Series, str]]) -> pd.Series:
    """First failing check's reason per row (None where all pass)."""
    reason = pd.Series([None] * len(df), index=df.index, dtype=object)
    for failed, why in checks:
        reason = reason.where(reason.notna() | ~failed.fillna(True).astype(bool), why)
    return reason


def transform_users(df: pd.DataFrame, now: int) -> pd.DataFrame:
    _ints(df, ["userid", "deleted", "suspended", "confirmed", "timecreated", "timemodified", "role_rank"])
    _text(df, ["username", "email", "firstname", "lastname", "phone1", "phone2", "city", "country", "auth"])
    df["role"] = df["role_rank"].fillna(0).map(ROLE_NAMES)
    df["deleted"] = df["deleted"].fillna(0).astype(bool)
    df["suspended"] = df["suspended"].fillna(0).astype(bool)
    df["quarantine_reason"] = _reasons(df, [
        (df["userid"].isna(), "missing user id"),
        (df["username"].isna() | (df["username"].fillna("").str.strip() == ""), "empty username"),
        (df["timecreated"].isna() | (df["timecreated"] < 0), "invalid timecreated"),
        (df["timemodified"].isna() | (df["timemodified"] < 0), "invalid timemodified"),
    ])
    return df


def effective_enrolment_active(df: pd.DataFrame, now: int) -> pd.Series:
    """Moodle's get_enrolled_join(onlyactive): row active, method enabled, started, not ended.

    Moodle rounds "now" to 100 s for query caching; so do we, to agree with what Moodle shows.
    """
    now = (now // 100) * 100
    return (
        (df["status"] == 0)
        & (df["instance_status"] == 0)
        & (df["timestart"] < now)
        & ((df["timeend"] == 0) | (df["timeend"] > now))
    ).fillna(False).astype(bool)


def transform_enrolments(df: pd.DataFrame, now: int) -> pd.DataFrame:
    _ints(df, ["enrollment_id", "userid", "enrolid", "courseid", "status", "instance_status",
               "timestart", "timeend", "timecreated", "timemodified", "user_exists"])
    _text(df, ["course_name", "course_shortname", "enrol_method"])
    df["active"] = effective_enrolment_active(df, now)
    df["quarantine_reason"] = _reasons(df, [
        (df["enrolid"].isna() | df["enrol_method"].isna(), "enrolment method instance missing"),
        (df["courseid"].isna() | df["course_name"].isna(), "course missing"),
        (df["user_exists"] != 1, "user missing"),
        (df["status"].isna() | (df["status"] < 0), "invalid status"),
        (df["timestart"].isna() | (df["timestart"] < 0), "invalid timestart"),
        (df["timeend"].isna() | (df["timeend"] < 0), "invalid timeend"),
    ])
    return df


def grade_percentage(df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(percentage, range_min, range_max) as Moodle computes a grade's percentage.

    The range comes from the grade item, except for course and category totals, where Moodle uses the
    grade's own rawgrademin/rawgrademax. max == min gives the top of the range (100), the result is
    clamped to 0..100, and text or "none" items carry no number.
    """
    is_total = df["item_type"].isin(TOTAL_ITEM_TYPES)
    lo = df["rawgrademin"].where(is_total, df["item_grademin"])
    hi = df["rawgrademax"].where(is_total, df["item_grademax"])
    span = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (df["finalgrade"] - lo) / span * 100.0
    pct = pct.where(span != 0, 100.0).clip(0.0, 100.0).round(2)
    numeric = df["gradetype"].isin((GRADETYPE_VALUE, GRADETYPE_SCALE)) & df["finalgrade"].notna()
    return pct.where(numeric), lo, hi


def transform_grades(df: pd.DataFrame, now: int) -> pd.DataFrame:
    _numeric(df, ["rawgrade", "finalgrade", "rawgrademin", "rawgrademax", "item_grademin", "item_grademax"])
    _ints(df, ["userid", "itemid", "grade_id", "rawscaleid", "hidden", "locked", "overridden", "excluded",
               "timecreated", "timemodified", "iteminstance", "gradetype", "scaleid", "courseid",
               "user_exists", "item_exists"])
    _text(df, ["feedback", "item_type", "item_module", "item_name", "course_name", "course_shortname",
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
    df["quarantine_reason"] = _reasons(df, [
        (df["user_exists"] != 1, "user missing"),
        (df["item_exists"] != 1, "grade item missing"),
        (df["courseid"].isna() | df["course_name"].isna(), "course missing"),
        (df["gradetype"].isna() | ~df["gradetype"].isin((0, 1, 2, 3)), "unknown grade type"),
        (df["grademax"].notna() & df["grademin"].notna() & (df["grademax"] < df["grademin"]),
         "grade range max below min"),
        (df["finalgrade"].notna() & ~np.isfinite(df["finalgrade"].astype(float)), "grade is not a number"),
    ])
    return df
