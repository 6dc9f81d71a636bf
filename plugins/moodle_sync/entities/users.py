"""Moodle users (all but guest; deleted and suspended ones with their flags): key ``userid``."""

from __future__ import annotations

from moodle_sync.config import USERS_SCHEDULE
from moodle_sync.entities.base import EntitySpec, KeySource, as_int, same

ROLE_NAMES = {2: "teacher", 1: "student", 0: "other"}


def transform(df, now: int):
    from moodle_sync.entities import frame

    frame.ints(df, ["userid", "deleted", "suspended", "confirmed", "timecreated", "timemodified", "role_rank"])
    frame.text(df, ["username", "email", "firstname", "lastname", "phone1", "phone2", "city", "country", "auth"])
    df["role"] = df["role_rank"].fillna(0).map(ROLE_NAMES)
    df["deleted"] = df["deleted"].fillna(0).astype(bool)
    df["suspended"] = df["suspended"].fillna(0).astype(bool)
    df["quarantine_reason"] = frame.reasons(df, [
        (df["userid"].isna(), "missing user id"),
        (df["username"].isna() | (df["username"].fillna("").str.strip() == ""), "empty username"),
        (df["timecreated"].isna() | (df["timecreated"] < 0), "invalid timecreated"),
        (df["timemodified"].isna() | (df["timemodified"] < 0), "invalid timemodified"),
    ])
    return df


def log_related_user(row: dict):
    """A user_deleted or role_unassigned log row: the user it concerns."""
    userid = as_int(row["relateduserid"]) or as_int(row["objectid"])
    return (str(userid), {"userid": userid}, as_int(row["timecreated"])) if userid else None


USERS = EntitySpec(
    name="user",
    dag_id="moodle_sync_users",
    schedule_setting=USERS_SCHEDULE,
    description="Moodle users (all but guest; deleted and suspended ones with their flags) to the CRM.",
    select_sql="users",
    changed_sql="users_changed",
    key_columns=("userid",),
    source_id=("userid", "u.id", "user"),
    transform=transform,
    payload_fields=same(
        "userid", "username", "email", "firstname", "lastname", "phone1", "phone2", "city", "country",
        "role", "timecreated", "timemodified", "deleted", "suspended", "auth", "confirmed",
    ),
    change_fields=(
        "userid", "username", "email", "firstname", "lastname", "phone1", "phone2", "city", "country",
        "role", "timecreated", "deleted", "suspended", "auth", "confirmed",
    ),
    modified_column="timemodified",
    event_types=("user.created", "user.updated"),
    deleted_flag="deleted",
    keys_sql="users_keys",
    candidates_sql="users_candidates",
    identity_fields=("userid",),
    delete_values={"deleted": True},
    # Every write of user_create_user/user_update_user/delete_user and every role (un)assignment is logged: with
    # the log read, a run re-reads only those users (a role unassigned writes no timestamp at all)
    key_sources=(KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader=log_related_user,
                           eventnames=(r"\core\event\user_created", r"\core\event\user_updated",
                                       r"\core\event\user_deleted", r"\core\event\role_assigned",
                                       r"\core\event\role_unassigned"),
                           needs_log=True, covers_changes=True),),
)
