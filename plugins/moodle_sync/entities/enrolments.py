"""Moodle user enrolments, with Moodle's effective "active" state: key ``enrollment_id`` (user_enrolments.id)."""

from __future__ import annotations

from moodle_sync.config import ENROLMENTS_SCHEDULE
from moodle_sync.entities.base import EntitySpec, KeySource, WatchedRows, as_int, log_other, same


def moodle_now(now: int) -> int:
    """"now" as get_enrolled_join() uses it: rounded down to 100 s (for its query cache)."""
    return (now // 100) * 100


def effective_enrolment_active(df, now: int):
    """Moodle's get_enrolled_join(onlyactive): row active, method enabled, started, not ended.

    Moodle rounds "now" to 100 s for query caching; so do we, to agree with what Moodle shows.
    """
    now = moodle_now(now)
    return (
        (df["status"] == 0)
        & (df["instance_status"] == 0)
        & (df["timestart"] < now)
        & ((df["timeend"] == 0) | (df["timeend"] > now))
    ).fillna(False).astype(bool)


def next_flip(df, now: int):
    """When ``active`` next changes with time alone (the first "now" rounded to 100 s at which it differs), for
    an enrolment whose own and method's status are active; NA when it never will (issue 12: due keys are
    re-read; any other change of the row is logged, and re-reading it computes its flip again)."""
    import pandas as pd

    now100 = moodle_now(now)
    start, end = df["timestart"].astype("Int64"), df["timeend"].astype("Int64")
    starts = ((start // 100) + 1) * 100  # active once now100 > timestart
    ends = -((-end) // 100) * 100  # inactive once now100 >= timeend
    starts = starts.where((start > 0) & (starts > now100))
    ends = ends.where((end > 0) & (ends > now100))
    due = pd.concat([starts, ends], axis=1).min(axis=1, skipna=True).astype("Int64")
    live = ((df["status"] == 0) & (df["instance_status"] == 0)).fillna(False).astype(bool)
    return due.where(live)


def transform(df, now: int):
    from moodle_sync.entities import frame

    frame.ints(df, ["enrollment_id", "userid", "enrolid", "courseid", "status", "instance_status",
                    "timestart", "timeend", "timecreated", "timemodified", "user_exists"])
    frame.text(df, ["course_name", "course_shortname", "enrol_method"])
    df["active"] = effective_enrolment_active(df, now)
    df["next_flip"] = next_flip(df, now)
    df["quarantine_reason"] = frame.reasons(df, [
        (df["enrolid"].isna() | df["enrol_method"].isna(), "enrolment method instance missing"),
        (df["courseid"].isna() | df["course_name"].isna(), "course missing"),
        (df["user_exists"] != 1, "user missing"),
        (df["status"].isna() | (df["status"] < 0), "invalid status"),
        (df["timestart"].isna() | (df["timestart"] < 0), "invalid timestart"),
        (df["timeend"].isna() | (df["timeend"] < 0), "invalid timeend"),
    ])
    return df


def log_user_enrolment(row: dict):
    """A user_enrolment_deleted log row: the enrolment and the ids its ``other`` keeps."""
    ueid = as_int(row["objectid"])
    if not ueid:
        return None
    other = log_other(row)
    ue = other.get("userenrolment") if isinstance(other.get("userenrolment"), dict) else {}
    ids = {"enrollment_id": ueid,
           "userid": as_int(ue.get("userid")) or as_int(row["relateduserid"]),
           "courseid": as_int(ue.get("courseid")) or as_int(row["courseid"]),
           "enrol_method": ue.get("enrol") or other.get("enrol")}
    return str(ueid), ids, as_int(row["timecreated"])


ENROLMENTS = EntitySpec(
    name="enrolment",
    dag_id="moodle_sync_enrolments",
    schedule_setting=ENROLMENTS_SCHEDULE,
    description="Moodle user enrolments, with Moodle's effective 'active' state, to the CRM.",
    select_sql="enrolments",
    changed_sql="enrolments_changed",
    key_columns=("enrollment_id",),
    source_id=("enrollment_id", "ue.id", "user_enrolments"),
    transform=transform,
    payload_fields=same(
        "enrollment_id", "userid", "courseid", "course_name", "course_shortname", "status", "enrol_method",
        "timestart", "timeend", "timecreated", "timemodified", "active",
    ),
    change_fields=("enrollment_id", "userid", "courseid", "status", "enrol_method", "timestart", "timeend",
                   "active"),
    modified_column="timemodified",
    event_types=("enrolment.created", "enrolment.updated"),
    watched=WatchedRows(sql="enrol_instances", column="ue.enrolid", keys_sql="enrolments_of_instances",
                        fragment="watched"),
    wake_events=(r"\core\event\enrol_instance_created", r"\core\event\enrol_instance_updated",
                 r"\core\event\enrol_instance_deleted"),
    flip_column="next_flip",
    flip_seed_sql="enrolments_may_flip",
    keys_sql="enrolments_keys",
    candidates_sql="enrolments_candidates",
    identity_fields=("enrollment_id", "userid", "courseid", "enrol_method"),
    delete_values={"active": False, "deleted": True},
    # enrol_user(), update_user_enrol() and unenrol_user() are logged: with the log read, a run re-reads only
    # those enrolments, the ones of methods whose status changed, and the ones whose start or end came due
    key_sources=(KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader=log_user_enrolment,
                           eventnames=(r"\core\event\user_enrolment_created", r"\core\event\user_enrolment_updated",
                                       r"\core\event\user_enrolment_deleted"),
                           needs_log=True, covers_changes=True),),
)
