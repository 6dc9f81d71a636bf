"""The three synced entities, declared as data: one mechanism (``moodle_sync.capture.sync``) serves them all.

Like a singer-sdk stream, each entity names its key, its replication query, the fields it sends and the
fields whose change is a real change (``change_fields``: a login that bumps ``lastaccess`` or an edit that
only bumps ``timemodified`` is no change). Nothing here imports pandas: DAG files import this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WatchedRows:
    """Moodle rows whose change writes no timestamp; snapshotted each run to find affected entities."""

    sql: str  # include/sql/moodle/<sql>.sql returning (key, value)
    fragment: str  # placeholder in the entity's changed-SQL: "<column> is one of the changed keys" (bound)
    column: str  # the column of the entity's rows that refers to a watched row


@dataclass(frozen=True)
class KeySource:
    """A Moodle table that names keys no timestamp shows (hard deletes, role unassignments): the fast path
    reads it by ``id`` cursor (stored per entity and source in the event log) and the named keys are re-read;
    a key that no longer exists in Moodle becomes the entity's delete event."""

    name: str  # cursor name, unique within the entity
    sql: str  # include/sql/moodle/<sql>.sql: rows with %(after)s < id <= %(upto)s, at most %(limit)s
    bounds_sql: str  # include/sql/moodle/<bounds_sql>.sql: (max id, first id at or after %(since)s)
    reader: str  # function in moodle_sync.capture.fastpath: row dict -> (key, ids the row knows, time) or None
    eventnames: tuple[str, ...] = ()  # log events to read (a log source); empty for other tables
    needs_log: bool = False  # the table is Moodle's standard log: only read when that log store is enabled


@dataclass(frozen=True)
class EntitySpec:
    name: str
    dag_id: str
    schedule: str
    description: str
    select_sql: str
    changed_sql: str
    key_columns: tuple[str, ...]
    # The main table's id: (column of the chunk, SQL expression, table); the SELECT streams rows in its order,
    # so an interrupted initial sync resumes after the last id it committed.
    source_id: tuple[str, str, str]
    transform: str  # function name in moodle_sync.entities.transform
    payload_fields: dict[str, str]  # payload field -> column of the transformed chunk
    change_fields: tuple[str, ...]  # payload fields hashed to tell a real change
    modified_column: str
    event_types: tuple[str, str]  # (first event of a key, later events)
    deleted_flag: str | None = None  # payload field that turns an event into '<entity>.deleted'
    has_value_column: str | None = None  # rows without a value only matter once the key was synced
    changed_sql_without_history: str | None = None
    watched: WatchedRows | None = None
    tags: tuple[str, ...] = field(default=())
    # Deletes: the key's own ids (never names or emails) are kept in its state, so a delete event can say
    # what was deleted once the row is gone. A delete event's payload: every payload field null (a grade
    # "cleared"), then the ids, then ``delete_values``, ``timemodified`` = when it was deleted, ``sequence``.
    keys_sql: str = ""  # include/sql/moodle/<keys_sql>.sql: which keys in {candidates} exist in Moodle now
    candidates_sql: str = ""  # fragment: the entity's rows whose key is in the bound candidate list
    identity_fields: tuple[str, ...] = ()
    delete_values: dict = field(default_factory=dict)
    key_sources: tuple[KeySource, ...] = ()

    def changed_sql_for(self, grade_history_enabled: bool) -> str:
        if not grade_history_enabled and self.changed_sql_without_history:
            return self.changed_sql_without_history
        return self.changed_sql


def _same(*names: str) -> dict[str, str]:
    return {n: n for n in names}


USERS = EntitySpec(
    name="user",
    dag_id="moodle_sync_users",
    schedule="*/15 * * * *",
    description="Moodle users (all but guest; deleted and suspended ones with their flags) to the CRM.",
    select_sql="users",
    changed_sql="users_changed",
    key_columns=("userid",),
    source_id=("userid", "u.id", "user"),
    transform="transform_users",
    payload_fields=_same(
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
    # delete_user() soft-deletes (the row changes, the window sees it); a role unassigned writes no timestamp
    key_sources=(KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader="log_related_user",
                           eventnames=(r"\core\event\user_deleted", r"\core\event\role_unassigned"),
                           needs_log=True),),
)

ENROLMENTS = EntitySpec(
    name="enrolment",
    dag_id="moodle_sync_enrolments",
    schedule="*/15 * * * *",
    description="Moodle user enrolments, with Moodle's effective 'active' state, to the CRM.",
    select_sql="enrolments",
    changed_sql="enrolments_changed",
    key_columns=("enrollment_id",),
    source_id=("enrollment_id", "ue.id", "user_enrolments"),
    transform="transform_enrolments",
    payload_fields=_same(
        "enrollment_id", "userid", "courseid", "course_name", "course_shortname", "status", "enrol_method",
        "timestart", "timeend", "timecreated", "timemodified", "active",
    ),
    change_fields=("enrollment_id", "userid", "courseid", "status", "enrol_method", "timestart", "timeend",
                   "active"),
    modified_column="timemodified",
    event_types=("enrolment.created", "enrolment.updated"),
    watched=WatchedRows(sql="enrol_instances", fragment="watched", column="ue.enrolid"),
    keys_sql="enrolments_keys",
    candidates_sql="enrolments_candidates",
    identity_fields=("enrollment_id", "userid", "courseid", "enrol_method"),
    delete_values={"active": False, "deleted": True},
    key_sources=(KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader="log_user_enrolment",
                           eventnames=(r"\core\event\user_enrolment_deleted",), needs_log=True),),
)

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
    transform="transform_grades",
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
                  reader="history_grade_deleted"),
        # the log's grade_deleted also covers sites with $CFG->disablegradehistory
        KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader="log_grade_deleted",
                  eventnames=(r"\core\event\grade_deleted",), needs_log=True),
    ),
)

ENTITIES: tuple[EntitySpec, ...] = (USERS, ENROLMENTS, GRADES)
BY_NAME = {spec.name: spec for spec in ENTITIES}
